export * from './world';
export * from './model';
export * from './invariants';
export * from './commands';
