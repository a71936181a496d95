/**
 * The React side: the provider and the hooks, for either tRPC React integration (the
 * recommended `@trpc/tanstack-react-query` or the classic `@trpc/react-query`).
 */
export {
  TidingsProvider,
  type ClassicTRPC,
  type TidingsProviderProps,
  type TRPCProviderComponent,
} from './TidingsProvider.js';
export {
  createTidings,
  type AutoRefetchOption,
  type Tidings,
  type TidingsOptions,
} from './createTidings.js';
export { useSSEUpdates, type UseSSEUpdatesOptions } from './useSSEUpdates.js';
export { useAutoRefetch, type UseAutoRefetchOptions } from './useAutoRefetch.js';
export { useTidings } from './useTidings.js';
