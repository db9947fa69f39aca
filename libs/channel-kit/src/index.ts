export * from './adapter.config';
export * from './channel-adapter';
export * from './inbound-publisher';
export * from './run-adapter';
export * from './signatures';
