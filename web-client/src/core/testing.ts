/**
 * Test doubles for the core: a tRPC client whose subscriptions the test drives, and a browser
 * with Web Locks and BroadcastChannel shared by several fake tabs. Not part of the public API.
 */
import type { ChannelLike, CrossTabEnv, LockManagerLike } from './crossTab.js';
import type { SubscriptionClient } from './stream.js';

/**
 * An error as a tRPC link reports the server's error envelope: `data` carries the code and the
 * HTTP status (like `TRPCClientError.from({ error })`).
 */
export function trpcError(code: string, httpStatus: number, message = code.toLowerCase()) {
  return Object.assign(new Error(message), {
    name: 'TRPCClientError',
    data: { code, httpStatus, path: 'updates.subscribe' },
    shape: { message, code: -32000, data: { code, httpStatus, path: 'updates.subscribe' } },
  });
}

type Callbacks = Parameters<SubscriptionClient['subscription']>[2];

/** One subscription opened through {@link FakeTrpc}. */
export interface FakeSubscription {
  path: string;
  input: unknown;
  callbacks: Callbacks;
  closed: boolean;
  /** The link connected (tRPC's `connected` event). */
  connect(): void;
  /** The connection dropped; the link reconnects. */
  drop(error?: unknown): void;
  /** A tracked notice arrives. */
  emit(data: unknown, id?: string): void;
  /** The subscription fails for good (tRPC's `error`), as the link reports a refusal. */
  fail(error: unknown): void;
}

/** A tRPC client whose subscriptions are driven by the test. */
export class FakeTrpc implements SubscriptionClient {
  readonly subscriptions: FakeSubscription[] = [];

  /** Subscriptions not yet unsubscribed. */
  get open(): FakeSubscription[] {
    return this.subscriptions.filter((s) => !s.closed);
  }

  /** The newest subscription. */
  get last(): FakeSubscription {
    const last = this.subscriptions.at(-1);
    if (!last) throw new Error('no subscription was opened');
    return last;
  }

  subscription(path: string, input: unknown, callbacks: Callbacks) {
    const sub: FakeSubscription = {
      path,
      input,
      callbacks,
      closed: false,
      connect() {
        callbacks.onStarted();
        callbacks.onConnectionStateChange({ state: 'pending', error: null });
      },
      drop(error = new Error('network')) {
        callbacks.onConnectionStateChange({ state: 'connecting', error });
      },
      emit(data, id) {
        callbacks.onData(id === undefined ? data : { id, data });
      },
      fail(error) {
        callbacks.onError(error);
      },
    };
    this.subscriptions.push(sub);
    callbacks.onConnectionStateChange({ state: 'connecting', error: null });
    return {
      unsubscribe() {
        sub.closed = true;
      },
    };
  }
}

/**
 * A fake browser: Web Locks granted in request order (released when the callback's promise
 * settles or the tab is killed) and a BroadcastChannel delivering asynchronously to every other
 * channel of the same name, like the real ones.
 */
export class FakeBrowser {
  private holders = new Map<string, { tab: number; done: Promise<unknown> } | undefined>();
  private queues = new Map<string, { tab: number; grant: () => void; signal?: AbortSignal }[]>();
  private channels = new Set<{ name: string; tab: number; channel: FakeChannel }>();
  private killed = new Set<number>();
  private nextTab = 0;

  /** The environment of a new tab. */
  tab(): CrossTabEnv & { id: number } {
    const id = this.nextTab++;
    const locks: LockManagerLike = {
      request: (name, options, callback) =>
        new Promise((resolve, reject) => {
          const entry = {
            tab: id,
            signal: options.signal,
            grant: () => {
              const done = Promise.resolve(callback({ name })).then(resolve, reject);
              this.holders.set(name, { tab: id, done });
              void done.finally(() => this.release(name, id));
            },
          };
          options.signal?.addEventListener('abort', () => {
            const queue = this.queues.get(name) ?? [];
            const index = queue.indexOf(entry);
            if (index >= 0) {
              queue.splice(index, 1);
              reject(new DOMException('aborted', 'AbortError'));
            }
          });
          this.queues.set(name, [...(this.queues.get(name) ?? []), entry]);
          this.pump(name);
        }),
    };
    return {
      id,
      locks,
      openChannel: (name) => {
        const channel = new FakeChannel((message) => this.broadcast(name, id, message));
        const entry = { name, tab: id, channel };
        this.channels.add(entry);
        channel.onClose = () => this.channels.delete(entry);
        return channel;
      },
    };
  }

  /** Which tab holds the lock `name`. */
  holder(name: string): number | undefined {
    return this.holders.get(name)?.tab;
  }

  /** The tab dies without cleaning up: its lock is released and its channels go quiet. */
  kill(tab: number): void {
    this.killed.add(tab);
    for (const entry of [...this.channels]) if (entry.tab === tab) this.channels.delete(entry);
    for (const [name, holder] of this.holders) if (holder?.tab === tab) this.release(name, tab);
  }

  private release(name: string, tab: number) {
    if (this.holders.get(name)?.tab !== tab) return;
    this.holders.set(name, undefined);
    this.pump(name);
  }

  private pump(name: string) {
    if (this.holders.get(name)) return;
    const queue = (this.queues.get(name) ?? []).filter((e) => !this.killed.has(e.tab));
    const next = queue.shift();
    this.queues.set(name, queue);
    if (next) queueMicrotask(next.grant);
  }

  private broadcast(name: string, from: number, message: unknown) {
    if (this.killed.has(from)) return;
    const data = structuredClone(message);
    for (const entry of this.channels) {
      if (entry.name === name && entry.tab !== from) {
        const { channel } = entry;
        setTimeout(() => channel.deliver(data), 0);
      }
    }
  }
}

class FakeChannel implements ChannelLike {
  onClose: () => void = () => {};
  private listeners = new Set<(event: { data: unknown }) => void>();
  private closed = false;

  constructor(private readonly send: (message: unknown) => void) {}

  postMessage(message: unknown) {
    if (this.closed) throw new DOMException('closed', 'InvalidStateError');
    this.send(message);
  }
  addEventListener(_type: 'message', listener: (event: { data: unknown }) => void) {
    this.listeners.add(listener);
  }
  removeEventListener(_type: 'message', listener: (event: { data: unknown }) => void) {
    this.listeners.delete(listener);
  }
  close() {
    this.closed = true;
    this.onClose();
  }
  deliver(data: unknown) {
    if (!this.closed) for (const listener of this.listeners) listener({ data });
  }
}
