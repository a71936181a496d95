/** The React side: the provider, the hooks and the typed tRPC hooks. */
export { TidingsProvider, type TidingsProviderProps } from './TidingsProvider';
export {
  createTidings,
  type AutoRefetchOption,
  type Tidings,
  type TidingsOptions,
} from './createTidings';
export { useSSEUpdates, type UseSSEUpdatesOptions } from './useSSEUpdates';
export { useAutoRefetch, type UseAutoRefetchOptions } from './useAutoRefetch';
export { useTidings } from './useTidings';
export { invalidatePlan } from './invalidate';
export { trpc } from './trpc';
