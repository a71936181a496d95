/**
 * `useAutoRefetch(type | types, { throttleMs })`: invalidates the queries that notices of these
 * types concern (the paths UPDATE_QUERY_MAP lists, every input, by tRPC's query keys, so with
 * either tRPC React integration), refetching the active ones; a resync invalidates everything.
 * Optionally throttled per type: a burst costs at most one refetch per window (leading +
 * trailing). When the stream ends as `unauthorized` the pending trailing refetches are
 * dropped: without a session they would only be refused. The core's `autoRefetch` in an effect.
 */
import { QueryClientContext, type QueryClient } from '@tanstack/react-query';
import { useContext, useEffect } from 'react';
import { UPDATE_QUERY_MAP, type UpdateType } from '../bindings.js';
import { autoRefetch } from '../core/autoRefetch.js';
import type { UpdateHub } from '../core/hub.js';
import type { ThrottleSpec } from '../core/invalidator.js';
import type { QueryMap } from '../core/notice.js';
import { missingProvider, useOptionalTidings } from './context.js';

/** Options of {@link useAutoRefetch}. */
export interface UseAutoRefetchOptions {
  /** At most one refetch per window (ms), per type or for all; default: none. */
  throttleMs?: ThrottleSpec<UpdateType>;
  /** Set to `false` to pause (default `true`). */
  enabled?: boolean;
  /** An explicit client instead of the provider's (tests). */
  client?: UpdateHub<UpdateType>;
  /** An explicit cache instead of the nearest QueryClientProvider's. */
  queryClient?: QueryClient;
  /** Update type → query paths; default: the provider's, else UPDATE_QUERY_MAP. */
  map?: QueryMap<UpdateType>;
}

/** Keeps the queries of `types` current from the update stream. */
export function useAutoRefetch(
  types: UpdateType | readonly UpdateType[],
  options: UseAutoRefetchOptions = {},
): void {
  const tidings = useOptionalTidings();
  const hub = options.client ?? tidings?.hub;
  if (!hub) throw missingProvider('useAutoRefetch');
  const contextClient = useContext(QueryClientContext);
  const queryClient = options.queryClient ?? contextClient ?? tidings?.queryClient;
  if (!queryClient) throw missingProvider('useAutoRefetch');
  const map = options.map ?? tidings?.map ?? UPDATE_QUERY_MAP;
  const enabled = options.enabled ?? true;

  // Arrays and objects are compared by value, so inline literals do not resubscribe.
  const typesKey = JSON.stringify(typeof types === 'string' ? [types] : [...types].sort());
  const throttleKey = JSON.stringify(options.throttleMs ?? 0);

  useEffect(() => {
    if (!enabled) return;
    return autoRefetch(queryClient, { hub, map }, JSON.parse(typesKey) as UpdateType[], {
      throttleMs: JSON.parse(throttleKey) as ThrottleSpec<UpdateType>,
    });
  }, [hub, queryClient, map, enabled, typesKey, throttleKey]);
}
