/**
 * `<TidingsProvider>`: wires tRPC, TanStack Query and the update stream for the tree below it.
 * Pass options (`url`, `transport`, `autoRefetch`, …) or a client made by `createTidings()`.
 * With `autoRefetch`, every notice invalidates its queries through UPDATE_QUERY_MAP, so pages
 * need no `useAutoRefetch` calls of their own.
 */
import { QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import type { UpdateType } from '../bindings';
import { TidingsContext } from './context';
import { createTidings, type Tidings, type TidingsOptions } from './createTidings';
import { trpc } from './trpc';
import { useAutoRefetch } from './useAutoRefetch';

/** Props of {@link TidingsProvider}. */
export type TidingsProviderProps = TidingsOptions & {
  /** A client made by `createTidings()`; the other options are then ignored. */
  tidings?: Tidings;
  children?: ReactNode;
};

/** Provides a Tidings client (and tRPC and TanStack Query) to `children`. */
export function TidingsProvider({ tidings, children, ...options }: TidingsProviderProps) {
  // Created once: later option changes do not rebuild the client.
  const [client] = useState(() => tidings ?? createTidings(options));
  return (
    <TidingsContext.Provider value={client}>
      <trpc.Provider client={client.trpcClient} queryClient={client.queryClient}>
        <QueryClientProvider client={client.queryClient}>
          <AutoRefetchAll tidings={client} />
          {children}
        </QueryClientProvider>
      </trpc.Provider>
    </TidingsContext.Provider>
  );
}

/** The automatic mode: every type, through the map. */
function AutoRefetchAll({ tidings }: { tidings: Tidings }) {
  const auto = tidings.autoRefetch;
  useAutoRefetch(Object.keys(tidings.map) as UpdateType[], {
    enabled: auto !== false,
    client: tidings.hub,
    queryClient: tidings.queryClient,
    map: tidings.map,
    ...(auto && auto.throttleMs !== undefined ? { throttleMs: auto.throttleMs } : {}),
  });
  return null;
}
