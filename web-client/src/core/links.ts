/**
 * The tRPC links a Tidings client uses: queries and mutations batched over HTTP, and the one
 * subscription over SSE (httpSubscriptionLink, the default) or the tRPC WebSocket (wsLink).
 * URLs may be relative (`/trpc`), so the console works wherever the BFF serves it.
 */
import {
  createWSClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  wsLink,
  type TRPCLink,
} from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';

/** How the update stream travels. */
export type Transport = 'sse' | 'ws';

/** Options of {@link createLinks}. */
export interface LinkOptions {
  /** The tRPC endpoint (default `/trpc`, relative to the page). */
  url?: string;
  /** `sse` (default) or `ws` for the subscription. */
  transport?: Transport;
  /** Headers of query and mutation requests. */
  headers?: () => Record<string, string>;
}

/** The endpoint as an absolute `ws:`/`wss:` URL, resolved against the page's location. */
export function webSocketUrl(url: string, base: string | undefined = globalThis.location?.href): string {
  const resolved = new URL(url, base ?? 'http://localhost/');
  resolved.protocol = resolved.protocol === 'https:' ? 'wss:' : 'ws:';
  return resolved.toString();
}

/** The links: subscriptions over SSE or WebSocket, everything else batched over HTTP. */
export function createLinks(options: LinkOptions = {}): TRPCLink<AnyTRPCRouter>[] {
  const url = options.url ?? '/trpc';
  const subscriptions =
    options.transport === 'ws'
      ? wsLink({ client: createWSClient({ url: webSocketUrl(url) }) })
      : httpSubscriptionLink({ url });
  return [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: subscriptions,
      false: httpBatchLink({ url, ...(options.headers ? { headers: options.headers } : {}) }),
    }),
  ];
}
