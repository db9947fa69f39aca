export * from './graceful-shutdown';
export * from './health.module';
export * from './logging.module';
export * from './metrics.module';
export * from './redaction';
export * from './metric-factory';
