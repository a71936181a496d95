/**
 * Wires a Tidings client: the tRPC client (batched HTTP, the subscription over SSE or
 * WebSocket), a TanStack QueryClient, and the hub holding the page's one update stream, shared
 * across tabs by default. {@link TidingsProvider} calls it; call it yourself to share one
 * instance or to configure it outside React.
 */
import { QueryClient } from '@tanstack/react-query';
import { createTRPCClient, getUntypedClient, type TRPCClient, type TRPCLink } from '@trpc/client';
import { UPDATE_QUERY_MAP, type AppRouter, type UpdateType } from '../bindings';
import { sharedAcrossTabs, type CrossTabEnv } from '../core/crossTab';
import { createUpdateHub, type UpdateHub } from '../core/hub';
import type { ThrottleSpec } from '../core/invalidator';
import { retryUnlessRefused } from '../core/errors';
import { createLinks, type Transport } from '../core/links';
import type { QueryMap } from '../core/notice';
import { updateStream } from '../core/stream';

/** The automatic mode: every notice invalidates its queries, no per-component calls needed. */
export type AutoRefetchOption = boolean | { throttleMs?: ThrottleSpec<UpdateType> };

/** Options of {@link createTidings} (and props of `TidingsProvider`). */
export interface TidingsOptions {
  /** The tRPC endpoint (default `/trpc`, relative to the page). */
  url?: string;
  /** How the update stream travels: `sse` (default) or `ws`. */
  transport?: Transport;
  /**
   * Headers of query and mutation requests (a session presented as `Authorization` rather
   * than by the cookie, as from another origin); the SSE stream then opens with a single-use
   * ticket asked with them, never with the token in its URL.
   */
  headers?: () => Record<string, string>;
  /** Share one stream between the tabs of this browser (default `true`). */
  crossTab?: boolean | { name?: string; env?: CrossTabEnv | null };
  /** Invalidate through the update map on every notice (default `false`). */
  autoRefetch?: AutoRefetchOption;
  /**
   * The cache; default: a new QueryClient whose queries retry failures that may pass on a
   * second try (network, 5xx) but not refusals (`UNAUTHORIZED`, `FORBIDDEN`, other 4xx).
   */
  queryClient?: QueryClient;
  /** Update type → query paths; default: the server's UPDATE_QUERY_MAP. */
  map?: QueryMap<UpdateType>;
  /** Replaces the default links (tests, custom transports). */
  links?: TRPCLink<AppRouter>[];
  /** Replaces the update hub (tests). */
  hub?: UpdateHub<UpdateType>;
}

/** A wired client: what the hooks read from the provider. */
export interface Tidings {
  /** The tRPC client. */
  trpcClient: TRPCClient<AppRouter>;
  /** The TanStack Query cache. */
  queryClient: QueryClient;
  /** The page's one update stream. */
  hub: UpdateHub<UpdateType>;
  /** Update type → query paths. */
  map: QueryMap<UpdateType>;
  /** The automatic mode, if on. */
  autoRefetch: false | { throttleMs?: ThrottleSpec<UpdateType> };
}

/** The lock and channel name: one shared stream per endpoint. */
function channelName(url: string): string {
  const base = globalThis.location?.href ?? 'http://localhost/';
  return `tidings-updates:${new URL(url, base).href}`;
}

/** Builds a Tidings client from `options`. */
export function createTidings(options: TidingsOptions = {}): Tidings {
  const url = options.url ?? '/trpc';
  const links =
    options.links ?? createLinks({ url, transport: options.transport, headers: options.headers });
  const trpcClient = createTRPCClient<AppRouter>({ links });
  const crossTab = options.crossTab ?? true;
  const stream = updateStream(getUntypedClient(trpcClient));
  const open =
    crossTab === false
      ? sharedAcrossTabs(stream, { env: null })
      : sharedAcrossTabs(stream, {
          name: (crossTab !== true && crossTab.name) || channelName(url),
          ...(crossTab !== true && crossTab.env !== undefined ? { env: crossTab.env } : {}),
        });
  const auto = options.autoRefetch ?? false;
  return {
    trpcClient,
    queryClient:
      options.queryClient ??
      new QueryClient({ defaultOptions: { queries: { retry: retryUnlessRefused() } } }),
    hub: options.hub ?? createUpdateHub<UpdateType>(open),
    map: options.map ?? UPDATE_QUERY_MAP,
    autoRefetch: auto === false ? false : auto === true ? {} : auto,
  };
}
