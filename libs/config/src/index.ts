export * from './config.loader';
export * from './common-env.schema';
export * from './node-flags.constant';
