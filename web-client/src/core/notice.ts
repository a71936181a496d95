/**
 * The vocabulary of the core: notices as they arrive, the stream's connection state, and the
 * map from update types to the queries they invalidate. Generic over the update type so the
 * core can be tested without the generated bindings.
 */

/** A notice that something of `type` changed, optionally confined to one project (`scope`). */
export type ChangeNotice<T extends string = string> = {
  type: T;
  scope?: string | null;
};

/** A notice telling the client it may have missed changes: refetch everything. */
export type ResyncNotice = {
  type: 'resync';
  reason?: string | null;
};

/** What `updates.subscribe` yields (its `data`). */
export type Notice<T extends string = string> = ChangeNotice<T> | ResyncNotice;

/** For each update type, the dotted query paths a notice of that type invalidates. */
export type QueryMap<T extends string = string> = Readonly<Record<T, readonly string[]>>;

/**
 * The stream's connection state:
 * - `connecting`: opening for the first time;
 * - `open`: connected, notices flow;
 * - `reconnecting`: the connection dropped (or the server asked to retry); resuming from the
 *   last event id;
 * - `closed`: not connected and not trying (stopped, or failed for good);
 * - `unauthorized`: the server ended or refused the stream for want of a valid session
 *   (`UNAUTHORIZED`: logged out, expired, never logged in). Not retried: asking again without a
 *   new session would be refused again. Log in, then `hub.reconnect()`.
 */
export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'unauthorized';

/** Whether the stream has ended and waits for `reconnect()` (after an error, or unauthorized). */
export function isEnded(status: ConnectionStatus): boolean {
  return status === 'closed' || status === 'unauthorized';
}

/**
 * Who holds the connection in this browser: `leader` (this tab holds the stream and relays it
 * to the others), `follower` (another tab does), `solo` (this tab has its own stream: no
 * cross-tab sharing here).
 */
export type TabRole = 'leader' | 'follower' | 'solo';

/** A snapshot of the stream, as the hooks return it. */
export type StreamState = {
  /** The connection state. */
  status: ConnectionStatus;
  /** The id of the last notice received, which a reconnect resumes from. */
  lastEventId: string | null;
  /** Who holds the connection. */
  role: TabRole;
  /** The last connection error, cleared when the connection opens. */
  error: unknown;
};

/** The state before anything connected. */
export const INITIAL_STATE: StreamState = Object.freeze({
  status: 'closed',
  lastEventId: null,
  role: 'solo',
  error: null,
});

/** A listener of notices; `id` is the notice's event id (absent for untracked notices). */
export type NoticeListener<T extends string = string> = (
  notice: Notice<T>,
  id: string | undefined,
) => void;

/** Whether `notice` asks for everything to be refetched. */
export function isResync(notice: Notice): notice is ResyncNotice {
  return notice.type === 'resync';
}
