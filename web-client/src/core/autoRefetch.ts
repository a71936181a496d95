/**
 * Keeps a TanStack Query cache current from the update stream, with no framework: each notice
 * invalidates the queries UPDATE_QUERY_MAP lists for its type, by tRPC's query keys
 * (`[path.split('.'), { input, type }]`, the keys both tRPC React integrations build, whose
 * prefix `[path.split('.')]` is what their `pathFilter()` matches), so one call covers every
 * input of a query. Only active queries refetch, and a refetch already in flight is kept
 * rather than cancelled. `useAutoRefetch` is this inside an effect.
 */
import type { UpdateType } from '../bindings.js';
import type { UpdateHub } from './hub.js';
import { createInvalidator, type ThrottleSpec } from './invalidator.js';
import type { QueryMap } from './notice.js';
import { inScope, queryKeyPrefix, type InvalidationPlan } from './planner.js';

/**
 * What invalidation needs of a cache: TanStack's `QueryClient` (from `@tanstack/query-core`,
 * `@tanstack/react-query` or any of its framework packages) has it.
 */
export interface InvalidatingQueryClient {
  invalidateQueries(
    filters: {
      queryKey?: readonly unknown[];
      refetchType?: 'active';
      predicate?: (query: { queryKey: readonly unknown[] }) => boolean;
    },
    options?: { cancelRefetch?: boolean },
  ): Promise<unknown>;
}

/** Invalidates what `plan` names in `queryClient`. */
export function invalidatePlan(queryClient: InvalidatingQueryClient, plan: InvalidationPlan): void {
  if (plan.kind === 'all') {
    void queryClient.invalidateQueries({ refetchType: 'active' }, { cancelRefetch: false });
    return;
  }
  const { scopes } = plan;
  for (const path of plan.paths) {
    void queryClient.invalidateQueries(
      {
        queryKey: queryKeyPrefix(path),
        refetchType: 'active',
        ...(scopes ? { predicate: (query) => inScope(query.queryKey, scopes) } : {}),
      },
      { cancelRefetch: false },
    );
  }
}

/** Options of {@link autoRefetch}. */
export interface AutoRefetchOptions {
  /** At most one refetch per window (ms), per type or for all; default: none. */
  throttleMs?: ThrottleSpec<UpdateType>;
  /** Update type → query paths; default: the hub's client's, else UPDATE_QUERY_MAP. */
  map?: QueryMap<UpdateType>;
}

/**
 * Invalidates in `queryClient` the queries that notices of `types` (default: every type in
 * the map) concern, until the returned function is called. Holds the stream open meanwhile.
 * A resync invalidates everything; when the stream ends as `unauthorized` the pending trailing
 * refetches are dropped (without a session they would only be refused).
 */
export function autoRefetch(
  queryClient: InvalidatingQueryClient,
  client: { hub: UpdateHub<UpdateType>; map: QueryMap<UpdateType> },
  types?: UpdateType | readonly UpdateType[],
  options: AutoRefetchOptions = {},
): () => void {
  const { hub } = client;
  const map = options.map ?? client.map;
  const invalidator = createInvalidator<UpdateType>({
    map,
    types:
      types === undefined
        ? (Object.keys(map) as UpdateType[])
        : typeof types === 'string'
          ? [types]
          : types,
    throttleMs: options.throttleMs ?? 0,
    invalidate: (plan) => invalidatePlan(queryClient, plan),
  });
  const release = hub.retain();
  const offNotice = hub.subscribe((notice) => invalidator.handle(notice));
  let status = hub.getState().status;
  const offState = hub.subscribeState(() => {
    const next = hub.getState().status;
    if (next === 'unauthorized' && status !== 'unauthorized') invalidator.cancel();
    status = next;
  });
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    offState();
    offNotice();
    invalidator.dispose();
    release();
  };
}
