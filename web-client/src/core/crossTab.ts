/**
 * One stream per browser, shared by its tabs. Tabs of one origin compete for a Web Lock; the
 * holder (the leader) opens the real stream and relays every notice and state change over a
 * BroadcastChannel; the others (followers) listen. When the leader closes or dies the browser
 * releases its lock, the next waiting tab becomes leader and resumes after the last event id it
 * heard, so no notice is lost. Without Web Locks or BroadcastChannel each tab keeps its own
 * stream.
 *
 * The session cookie is the browser's, so its tabs share one session: when the stream ends
 * with `unauthorized` (logged out, expired) every tab hears it, and after a login in any tab
 * `retry()` asks the leader to reopen its ended stream (it ignores the request while its stream
 * is up).
 */
import { isEnded, type ConnectionStatus, type Notice } from './notice.js';
import type { OpenSource, Source, SourceEvents } from './stream.js';

/** The part of `navigator.locks` used here. */
export interface LockManagerLike {
  request(
    name: string,
    options: { mode?: 'exclusive'; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<unknown>,
  ): Promise<unknown>;
}

/** The part of `BroadcastChannel` used here. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  close(): void;
}

/** What cross-tab sharing needs from the browser. */
export interface CrossTabEnv {
  locks: LockManagerLike;
  openChannel(name: string): ChannelLike;
}

/** Messages between tabs. */
export type TabMessage =
  | { kind: 'notice'; notice: Notice; id: string | undefined }
  | { kind: 'state'; status: ConnectionStatus; lastEventId: string | null; error: string | null }
  | { kind: 'hello' }
  | { kind: 'leaving' }
  | { kind: 'retry' };

/** The browser's Web Locks and BroadcastChannel, or `null` when either is missing. */
export function browserCrossTabEnv(): CrossTabEnv | null {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
  const Channel = (globalThis as { BroadcastChannel?: new (name: string) => ChannelLike })
    .BroadcastChannel;
  if (!locks || typeof locks.request !== 'function' || typeof Channel !== 'function') return null;
  return { locks, openChannel: (name) => new Channel(name) };
}

/** Options of {@link sharedAcrossTabs}. */
export interface CrossTabOptions {
  /** Name of the lock and the channel; tabs sharing a stream use the same (default `tidings-updates`). */
  name?: string;
  /** The browser facilities; default {@link browserCrossTabEnv}. `null` turns sharing off. */
  env?: CrossTabEnv | null;
}

/** `open`, shared by the tabs of this browser (or `open` itself where that is not possible). */
export function sharedAcrossTabs(open: OpenSource, options: CrossTabOptions = {}): OpenSource {
  return (events, lastEventId) => {
    const env = options.env === undefined ? browserCrossTabEnv() : options.env;
    if (!env) {
      events.state({ role: 'solo' });
      return open(events, lastEventId);
    }
    return joinTabs(env, options.name ?? 'tidings-updates', open, events, lastEventId);
  };
}

function describe(error: unknown): string | null {
  if (error === null || error === undefined) return null;
  return error instanceof Error ? error.message : String(error);
}

function joinTabs(
  env: CrossTabEnv,
  name: string,
  open: OpenSource,
  events: SourceEvents,
  startAfter: string | null,
): Source {
  const channel = env.openChannel(name);
  const abort = new AbortController();
  let lastId = startAfter;
  let leading: { stream: Source; release: () => void } | undefined;
  let leaderState: Omit<Extract<TabMessage, { kind: 'state' }>, 'kind'> = {
    status: 'connecting',
    lastEventId: lastId,
    error: null,
  };
  let relaying = false;
  let closed = false;

  const post = (message: TabMessage) => {
    if (!closed) channel.postMessage(message);
  };

  const onMessage = ({ data }: { data: unknown }) => {
    const message = data as TabMessage;
    if (closed || !message || typeof message !== 'object') return;
    if (leading) {
      if (message.kind === 'hello') post({ kind: 'state', ...leaderState });
      else if (message.kind === 'retry') reopen();
      return;
    }
    switch (message.kind) {
      case 'notice':
        if (message.id !== undefined) {
          lastId = message.id;
          events.state({ lastEventId: lastId });
        }
        events.notice(message.notice, message.id);
        break;
      case 'state':
        if (message.lastEventId) lastId = message.lastEventId;
        events.state({ status: message.status, lastEventId: lastId, error: message.error });
        break;
      case 'leaving':
        events.state({ status: 'reconnecting' });
        break;
    }
  };

  // The leader's events, relayed to the other tabs.
  const relay: SourceEvents = {
    notice(notice, id) {
      if (id !== undefined) lastId = id;
      events.notice(notice, id);
      if (relaying) post({ kind: 'notice', notice, id });
    },
    state(patch) {
      events.state(patch);
      leaderState = {
        status: patch.status ?? leaderState.status,
        lastEventId: patch.lastEventId !== undefined ? patch.lastEventId : leaderState.lastEventId,
        error: patch.status === 'open' ? null : (describe(patch.error) ?? leaderState.error),
      };
      if (relaying) post({ kind: 'state', ...leaderState });
    },
  };

  /** As the leader: replaces an ended stream by a new one, resuming after the last id. */
  const reopen = () => {
    if (!leading || closed || !isEnded(leaderState.status)) return;
    leading.stream.close();
    leaderState = { status: 'connecting', lastEventId: lastId, error: null };
    leading.stream = open(relay, lastId);
  };

  const lead = () =>
    new Promise<void>((release) => {
      if (closed) return release();
      events.state({ role: 'leader' });
      leaderState = { status: 'connecting', lastEventId: lastId, error: null };
      relaying = true;
      leading = { stream: open(relay, lastId), release };
    });

  channel.addEventListener('message', onMessage);
  events.state({ role: 'follower', status: 'connecting' });
  post({ kind: 'hello' });
  env.locks.request(name, { mode: 'exclusive', signal: abort.signal }, lead).catch(() => {
    // Aborted while waiting (this tab closed first), or locks failed: nothing to hold.
  });

  return {
    retry() {
      if (closed) return;
      if (leading) reopen();
      else post({ kind: 'retry' });
    },
    close() {
      if (closed) return;
      if (leading) {
        const { stream, release } = leading;
        leading = undefined;
        relaying = false;
        stream.close();
        post({ kind: 'leaving' });
        release();
      }
      closed = true;
      abort.abort();
      channel.removeEventListener('message', onMessage);
      channel.close();
      events.state({ status: 'closed' });
    },
  };
}
