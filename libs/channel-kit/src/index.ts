export * from './adapter.config';
export * from './channel-adapter';
export * from './inbound-publisher';
export * from './meta-webhook';
export * from './registry';
export * from './run-adapter';
export * from './signatures';
export * from './twilio-webhook';
