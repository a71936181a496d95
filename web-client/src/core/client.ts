/**
 * A Tidings client without any framework: the typed tRPC client (batched HTTP, the
 * subscription over SSE or WebSocket) and the hub holding the one update stream, shared across
 * the tabs of a browser by default. The React layer adds a QueryClient to it; a script or
 * another framework uses it as it is, with {@link autoRefetch} over its own cache.
 */
import { createTRPCClient, getUntypedClient, type TRPCClient, type TRPCLink } from '@trpc/client';
import { UPDATE_QUERY_MAP, type AppRouter, type UpdateType } from '../bindings.js';
import { sharedAcrossTabs, type CrossTabEnv } from './crossTab.js';
import { createUpdateHub, type UpdateHub } from './hub.js';
import { createLinks, type LinkOptions } from './links.js';
import type { QueryMap } from './notice.js';
import { updateStream } from './stream.js';

/** Options of {@link createTidingsClient}. */
export interface TidingsClientOptions extends LinkOptions {
  /**
   * Share one stream between the tabs of this browser (default `true`; where the runtime has
   * no Web Locks or BroadcastChannel, each page has its own).
   */
  crossTab?: boolean | { name?: string; env?: CrossTabEnv | null };
  /** Update type → query paths; default: the server's UPDATE_QUERY_MAP. */
  map?: QueryMap<UpdateType>;
  /** Replaces the default links (tests, custom transports). */
  links?: TRPCLink<AppRouter>[];
  /** Replaces the update hub (tests). */
  hub?: UpdateHub<UpdateType>;
}

/** A tRPC client and the update stream it carries. */
export interface TidingsClient {
  /** The typed tRPC client: `trpcClient.projects.getAll.query()`. */
  trpcClient: TRPCClient<AppRouter>;
  /** The one update stream. */
  hub: UpdateHub<UpdateType>;
  /** Update type → query paths. */
  map: QueryMap<UpdateType>;
}

/** The lock and channel name: one shared stream per endpoint. */
function channelName(url: string): string {
  const base = globalThis.location?.href ?? 'http://localhost/';
  return `tidings-updates:${new URL(url, base).href}`;
}

/** Builds the tRPC client and the update hub from `options`. */
export function createTidingsClient(options: TidingsClientOptions = {}): TidingsClient {
  const url = options.url ?? '/trpc';
  const links = options.links ?? createLinks({ ...options, url });
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
  return {
    trpcClient,
    hub: options.hub ?? createUpdateHub<UpdateType>(open),
    map: options.map ?? UPDATE_QUERY_MAP,
  };
}
