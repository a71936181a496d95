/**
 * The framework-free core of the Tidings client: the tRPC client and its update stream, the
 * stream's cross-tab sharing, the hub that holds its notices and state, the invalidation
 * planner with its throttle, and {@link autoRefetch}, which keeps a TanStack `QueryClient`
 * current with no framework at all (a script, a worker, another UI library).
 */
export * from './notice.js';
export * from './errors.js';
export * from './planner.js';
export * from './throttle.js';
export * from './invalidator.js';
export * from './stream.js';
export * from './hub.js';
export * from './crossTab.js';
export * from './links.js';
export * from './client.js';
export * from './autoRefetch.js';
export type {
  AppRouter,
  RouterInputs,
  RouterOutputs,
  UpdateNotice,
  UpdateType,
} from '../bindings.js';
export { UPDATE_QUERY_MAP, UPDATE_TYPES } from '../bindings.js';
