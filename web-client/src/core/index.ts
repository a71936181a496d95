/**
 * The framework-free core of the Tidings client: the update stream, its cross-tab sharing, the
 * hub that holds its notices and state, and the invalidation planner with its throttle.
 */
export * from './notice';
export * from './errors';
export * from './planner';
export * from './throttle';
export * from './invalidator';
export * from './stream';
export * from './hub';
export * from './crossTab';
export * from './links';
