/**
 * The update hub: the one place notices and stream state live in a page. Listeners subscribe
 * to notices; the state is an immutable snapshot (for `useSyncExternalStore`). The connection
 * opens while at least one holder retains the hub and closes shortly after the last release,
 * so React's mount/unmount/mount in development does not reconnect. A reopened connection
 * resumes after the last event id seen. A stream that ended (an error, or `unauthorized`) stays
 * ended, without retrying, until {@link UpdateHub.reconnect} is called, e.g. after logging in.
 */
import {
  INITIAL_STATE,
  isEnded,
  type Notice,
  type NoticeListener,
  type StreamState,
} from './notice.js';
import type { OpenSource, Source } from './stream.js';

/** The notices and state of the page's one update stream. */
export interface UpdateHub<T extends string = string> {
  /** Calls `listener` with every notice; returns the unsubscribe function. */
  subscribe(listener: NoticeListener<T>): () => void;
  /** The current state snapshot (a new object after each change). */
  getState(): StreamState;
  /** Calls `listener` after each state change; returns the unsubscribe function. */
  subscribeState(listener: () => void): () => void;
  /** Keeps the connection open until the returned release function is called. */
  retain(): () => void;
  /**
   * Reopens the stream if it is held and has ended (`closed` by an error, or `unauthorized`),
   * resuming after the last event id; does nothing while it is open or connecting. Call it
   * once a session exists again (after logging in). Shared across tabs, it asks the tab that
   * holds the stream.
   */
  reconnect(): void;
}

/** Options of {@link createUpdateHub}. */
export interface UpdateHubOptions {
  /** How long the connection stays open after the last release (default 0: next tick). */
  closeDelayMs?: number;
}

/** A hub whose connection comes from `open`. */
export function createUpdateHub<T extends string = string>(
  open: OpenSource,
  options: UpdateHubOptions = {},
): UpdateHub<T> & { close(): void } {
  const listeners = new Set<NoticeListener<T>>();
  const stateListeners = new Set<() => void>();
  let state: StreamState = INITIAL_STATE;
  let source: Source | undefined;
  let holders = 0;
  let closeTimer: ReturnType<typeof setTimeout> | undefined;

  const setState = (patch: Partial<StreamState>) => {
    const next = { ...state, ...patch };
    if (
      next.status === state.status &&
      next.lastEventId === state.lastEventId &&
      next.role === state.role &&
      next.error === state.error
    ) {
      return;
    }
    state = next;
    for (const listener of [...stateListeners]) listener();
  };

  const start = () => {
    if (source) return;
    source = open(
      {
        notice(notice: Notice, id) {
          for (const listener of [...listeners]) listener(notice as Notice<T>, id);
        },
        state: setState,
      },
      state.lastEventId,
    );
  };

  const stop = () => {
    const running = source;
    source = undefined;
    running?.close();
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    getState: () => state,
    subscribeState(listener) {
      stateListeners.add(listener);
      return () => {
        stateListeners.delete(listener);
      };
    },
    retain() {
      holders += 1;
      if (closeTimer !== undefined) {
        clearTimeout(closeTimer);
        closeTimer = undefined;
      }
      start();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        holders -= 1;
        if (holders === 0) {
          closeTimer = setTimeout(() => {
            closeTimer = undefined;
            if (holders === 0) stop();
          }, options.closeDelayMs ?? 0);
        }
      };
    },
    reconnect() {
      if (!source || holders === 0) return;
      if (source.retry) {
        source.retry();
      } else if (isEnded(state.status)) {
        stop();
        start();
      }
    },
    close() {
      if (closeTimer !== undefined) clearTimeout(closeTimer);
      closeTimer = undefined;
      holders = 0;
      stop();
    },
  };
}
