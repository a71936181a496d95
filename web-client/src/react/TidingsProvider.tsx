/**
 * `<TidingsProvider>`: wires TanStack Query and the update stream for the tree below it, and
 * the tRPC React integration the app chose, when given: the recommended
 * `@trpc/tanstack-react-query` (`TRPCProvider={TRPCProvider}` from `createTRPCContext()`) or
 * the classic `@trpc/react-query` (`trpc={trpc}` from `createTRPCReact()`). Pass options
 * (`url`, `transport`, `autoRefetch`, …) or a client made by `createTidings()`. With
 * `autoRefetch`, every notice invalidates its queries through UPDATE_QUERY_MAP, so pages need
 * no `useAutoRefetch` calls of their own.
 */
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import type { TRPCClient } from '@trpc/client';
import { useState, type ComponentType, type ReactNode } from 'react';
import type { AppRouter, UpdateType } from '../bindings.js';
import { TidingsContext } from './context.js';
import { createTidings, type Tidings, type TidingsOptions } from './createTidings.js';
import { useAutoRefetch } from './useAutoRefetch.js';

/**
 * The provider of `@trpc/tanstack-react-query`: `createTRPCContext<AppRouter>().TRPCProvider`.
 */
export type TRPCProviderComponent = ComponentType<{
  children: ReactNode;
  trpcClient: TRPCClient<AppRouter>;
  queryClient: QueryClient;
}>;

/** The hooks of `@trpc/react-query`, `createTRPCReact<AppRouter>()`, whose `Provider` is used. */
export interface ClassicTRPC {
  Provider: ComponentType<{
    children: ReactNode;
    client: TRPCClient<AppRouter>;
    queryClient: QueryClient;
  }>;
}

/** Props of {@link TidingsProvider}. */
export type TidingsProviderProps = TidingsOptions & {
  /** A client made by `createTidings()`; the other options are then ignored. */
  tidings?: Tidings;
  /** `@trpc/tanstack-react-query`'s provider, given the client and the cache. */
  TRPCProvider?: TRPCProviderComponent;
  /** `@trpc/react-query`'s hooks, whose provider is given the client and the cache. */
  trpc?: ClassicTRPC;
  children?: ReactNode;
};

/** Provides a Tidings client (and TanStack Query, and tRPC when given) to `children`. */
export function TidingsProvider({
  tidings,
  TRPCProvider,
  trpc,
  children,
  ...options
}: TidingsProviderProps) {
  // Created once: later option changes do not rebuild the client.
  const [client] = useState(() => tidings ?? createTidings(options));
  let tree = children;
  if (TRPCProvider) {
    tree = (
      <TRPCProvider trpcClient={client.trpcClient} queryClient={client.queryClient}>
        {tree}
      </TRPCProvider>
    );
  }
  if (trpc) {
    tree = (
      <trpc.Provider client={client.trpcClient} queryClient={client.queryClient}>
        {tree}
      </trpc.Provider>
    );
  }
  return (
    <TidingsContext.Provider value={client}>
      <QueryClientProvider client={client.queryClient}>
        <AutoRefetchAll tidings={client} />
        {tree}
      </QueryClientProvider>
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
