/**
 * The tRPC links a Tidings client uses: queries and mutations batched over HTTP, and the one
 * subscription over SSE (httpSubscriptionLink, the default) or the tRPC WebSocket (wsLink).
 * URLs may be relative (`/trpc`), so the console works wherever the BFF serves it; outside a
 * page (Node) they are absolute, and a runtime without `EventSource` or `WebSocket` is given one.
 *
 * The SSE subscription never carries the session token: its connection params travel in the
 * URL, which the server refuses to take a token from. On the page's own origin the session
 * cookie goes with it; a client that presents its session in `headers` (another origin) opens
 * each stream with a fresh single-use ticket from `auth.streamTicket`, asked with those headers.
 */
import {
  createTRPCUntypedClient,
  createWSClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  wsLink,
  type TRPCLink,
} from '@trpc/client';
import type { AnyTRPCRouter } from '@trpc/server';

/** How the update stream travels. */
export type Transport = 'sse' | 'ws';

/** Request headers, as tRPC's HTTP links take them. */
export type HTTPHeaders = Record<string, string | string[] | undefined>;

/** Options of {@link createLinks}. */
export interface LinkOptions {
  /** The tRPC endpoint (default `/trpc`, relative to the page). */
  url?: string;
  /** `sse` (default) or `ws` for the subscription. */
  transport?: Transport;
  /**
   * Headers of query and mutation requests; with them the SSE stream opens with a ticket
   * (`auth.streamTicket`) asked with these headers. Entries that are `undefined` are left
   * out, as tRPC's links do, so a header that exists only once logged in may be written
   * `{ authorization: token && 'Bearer ' + token }`.
   */
  headers?: () => HTTPHeaders;
  /**
   * The `EventSource` of the SSE stream, where the runtime has none (Node 20: the `eventsource`
   * package); default: the global one.
   */
  EventSource?: SubscriptionLinkOptions['EventSource'];
  /** The `WebSocket` of the `ws` transport, where the runtime has none; default: the global one. */
  WebSocket?: WebSocketClientOptions['WebSocket'];
}

type SubscriptionLinkOptions = Parameters<typeof httpSubscriptionLink>[0];
type WebSocketClientOptions = Parameters<typeof createWSClient>[0];

/** The endpoint as an absolute `ws:`/`wss:` URL, resolved against the page's location. */
export function webSocketUrl(
  url: string,
  base: string | undefined = globalThis.location?.href,
): string {
  const resolved = new URL(url, base ?? 'http://localhost/');
  resolved.protocol = resolved.protocol === 'https:' ? 'wss:' : 'ws:';
  return resolved.toString();
}

/** The procedure that issues stream tickets. */
export const STREAM_TICKET_PATH = 'auth.streamTicket';

/**
 * Connection params for one SSE subscription of the session that `headers` present: a fresh
 * `{ ticket }`, usable once, for a URL that may be logged.
 */
export function streamTicketParams(
  url: string,
  headers: () => HTTPHeaders,
  fetch?: typeof globalThis.fetch,
): () => Promise<{ ticket: string }> {
  const link = httpLink({ url, headers, ...(fetch ? { fetch } : {}) });
  const client = createTRPCUntypedClient<AnyTRPCRouter>({ links: [link] });
  return async () => {
    const { ticket } = (await client.mutation(STREAM_TICKET_PATH, undefined)) as { ticket: string };
    return { ticket };
  };
}

/** The links: subscriptions over SSE or WebSocket, everything else batched over HTTP. */
export function createLinks(options: LinkOptions = {}): TRPCLink<AnyTRPCRouter>[] {
  const url = options.url ?? '/trpc';
  const subscriptions =
    options.transport === 'ws'
      ? wsLink({
          client: createWSClient({
            url: webSocketUrl(url),
            ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
          }),
        })
      : httpSubscriptionLink({
          url,
          ...(options.EventSource ? { EventSource: options.EventSource } : {}),
          ...(options.headers
            ? { connectionParams: streamTicketParams(url, options.headers) }
            : {}),
        });
  return [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: subscriptions,
      false: httpBatchLink({ url, ...(options.headers ? { headers: options.headers } : {}) }),
    }),
  ];
}
