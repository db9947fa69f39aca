export * from './broker';
export * from './database';
export * from './fixtures';
export * from './processes';
export * from './wait';
export * from './tcp-proxy';
export * from './audit-replay';
export * from './agent-driver';
