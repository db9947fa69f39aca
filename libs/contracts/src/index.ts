export * from './channel.constant';
export * from './topology.constant';
export * from './envelope.schema';
export * from './events.schema';
export * from './json-schema';
export * from './asyncapi.document';
export * from './commands.schema';
export * from './notices.schema';
