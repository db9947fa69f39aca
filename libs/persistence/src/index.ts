export * from './data-source';
export * from './database-health';
export * from './migrate';
export * from './persistence.module';
export * from './routing-sql';
export * from './sql';
