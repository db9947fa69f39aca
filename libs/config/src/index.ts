export * from './config.loader';
export * from './common-env.schema';
