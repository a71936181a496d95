/**
 * One `updates.subscribe` subscription through a tRPC client, reporting notices and connection
 * state. The link does the reconnecting and resuming (httpSubscriptionLink and wsLink both send
 * the last tracked id back as `lastEventId`); this maps what it reports to a
 * {@link ConnectionStatus} and remembers the last event id. An error ends the subscription
 * for good (the links retry only what may pass on a second try): `UNAUTHORIZED` is reported as
 * `unauthorized`, anything else as `closed` with the error.
 */
import { isUnauthorized } from './errors.js';
import type { ConnectionStatus, Notice, StreamState } from './notice.js';

/** The path of the update stream. */
export const UPDATES_PATH = 'updates.subscribe';

/**
 * The part of a tRPC client the stream needs: `getUntypedClient(trpcClient)` of a
 * `@trpc/client` client has it; tests pass a fake.
 */
export interface SubscriptionClient {
  subscription(
    path: string,
    input: unknown,
    callbacks: {
      onStarted: () => void;
      onData: (value: unknown) => void;
      onError: (error: unknown) => void;
      onComplete: () => void;
      onConnectionStateChange: (state: { state: string; error?: unknown }) => void;
    },
  ): { unsubscribe(): void };
}

/** Where a running source reports. */
export interface SourceEvents {
  /** A notice arrived (`id`: its event id, when tracked). */
  notice(notice: Notice, id: string | undefined): void;
  /** Part of the state changed. */
  state(patch: Partial<StreamState>): void;
}

/** A running connection (or a share of one). */
export interface Source {
  /** Stops it. */
  close(): void;
  /**
   * Reopens it if it has ended (see `UpdateHub.reconnect`). Optional: without it the hub
   * closes an ended source and opens a new one.
   */
  retry?(): void;
}

/** Opens a source resuming after `lastEventId` (from the start when `null`). */
export type OpenSource = (events: SourceEvents, lastEventId: string | null) => Source;

/** Options of {@link openUpdateStream}. */
export interface UpdateStreamOptions {
  /** Only notices of these types (resync always comes); default: all. */
  types?: readonly string[];
}

/** Splits what the link yields into the notice and its event id. */
export function unwrapTracked(value: unknown): { notice: Notice; id: string | undefined } {
  if (value && typeof value === 'object' && 'id' in value && 'data' in value) {
    const { id, data } = value as { id: unknown; data: unknown };
    if (typeof id === 'string') return { notice: data as Notice, id };
  }
  return { notice: value as Notice, id: undefined };
}

/** A source factory over one subscription of `client`. */
export function updateStream(
  client: SubscriptionClient,
  options: UpdateStreamOptions = {},
): OpenSource {
  return (events, lastEventId) => openUpdateStream(client, events, lastEventId, options);
}

/** Opens `updates.subscribe` now, resuming after `lastEventId`. */
export function openUpdateStream(
  client: SubscriptionClient,
  events: SourceEvents,
  lastEventId: string | null,
  options: UpdateStreamOptions = {},
): Source {
  // A stream resuming after an event id is a reconnection, whoever held the previous one.
  let opened = lastEventId !== null;
  let closed = false;
  // Set by an error or completion: the link is done, whatever it reports afterwards.
  let ended = false;
  const status = (next: ConnectionStatus, error: unknown = null) => {
    if (!closed && !ended) events.state({ status: next, error });
  };
  const input =
    lastEventId || options.types
      ? {
          ...(lastEventId ? { lastEventId } : {}),
          ...(options.types ? { types: [...options.types] } : {}),
        }
      : undefined;

  status(opened ? 'reconnecting' : 'connecting');
  const subscription = client.subscription(UPDATES_PATH, input, {
    onStarted() {
      opened = true;
      status('open');
    },
    onConnectionStateChange({ state, error }) {
      if (state === 'pending') {
        opened = true;
        status('open');
      } else if (state === 'connecting') {
        status(opened ? 'reconnecting' : 'connecting', error ?? null);
      } else if (state === 'idle') {
        status('closed');
      }
    },
    onData(value) {
      if (closed) return;
      const { notice, id } = unwrapTracked(value);
      if (id !== undefined) events.state({ lastEventId: id });
      events.notice(notice, id);
    },
    onError(error) {
      status(isUnauthorized(error) ? 'unauthorized' : 'closed', error);
      ended = true;
    },
    onComplete() {
      status('closed');
      ended = true;
    },
  });

  return {
    close() {
      if (closed) return;
      ended = false;
      status('closed');
      closed = true;
      subscription.unsubscribe();
    },
  };
}
