import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createUpdateHub } from './hub.js';
import type { Notice } from './notice.js';
import { updateStream } from './stream.js';
import { FakeTrpc, trpcError } from './testing.js';

describe('createUpdateHub', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('opens one connection however many hold it, and closes after the last release', () => {
    const trpc = new FakeTrpc();
    const hub = createUpdateHub(updateStream(trpc));
    expect(hub.getState().status).toBe('closed');
    const releaseA = hub.retain();
    const releaseB = hub.retain();
    expect(trpc.subscriptions).toHaveLength(1);
    expect(hub.getState().status).toBe('connecting');
    releaseA();
    releaseA();
    vi.runAllTimers();
    expect(trpc.open).toHaveLength(1);
    releaseB();
    vi.runAllTimers();
    expect(trpc.open).toHaveLength(0);
    expect(hub.getState().status).toBe('closed');
  });

  it('survives release-then-retain in one tick (React StrictMode) without reconnecting', () => {
    const trpc = new FakeTrpc();
    const hub = createUpdateHub(updateStream(trpc));
    hub.retain()();
    hub.retain();
    vi.runAllTimers();
    expect(trpc.subscriptions).toHaveLength(1);
    expect(trpc.open).toHaveLength(1);
  });

  it('fans notices out to listeners and publishes new state snapshots', () => {
    const trpc = new FakeTrpc();
    const hub = createUpdateHub(updateStream(trpc));
    const seen: [Notice, string | undefined][] = [];
    const unsubscribe = hub.subscribe((n, id) => seen.push([n, id]));
    const changes = vi.fn();
    hub.subscribeState(changes);
    hub.retain();
    const before = hub.getState();
    trpc.last.connect();
    trpc.last.emit({ type: 'images' }, '5');
    expect(seen).toEqual([[{ type: 'images' }, '5']]);
    expect(hub.getState()).not.toBe(before);
    expect(hub.getState()).toMatchObject({ status: 'open', lastEventId: '5' });
    expect(changes).toHaveBeenCalled();
    unsubscribe();
    trpc.last.emit({ type: 'images' }, '6');
    expect(seen).toHaveLength(1);
  });

  it('resumes after the last event id when reopened', () => {
    const trpc = new FakeTrpc();
    const hub = createUpdateHub(updateStream(trpc));
    const release = hub.retain();
    trpc.last.connect();
    trpc.last.emit({ type: 'images' }, '12');
    release();
    vi.runAllTimers();
    hub.retain();
    expect(trpc.subscriptions).toHaveLength(2);
    expect(trpc.last.input).toEqual({ lastEventId: '12' });
  });

  it('stays unauthorized without retrying, and reconnect() reopens after the last id', () => {
    const trpc = new FakeTrpc();
    const hub = createUpdateHub(updateStream(trpc));
    hub.retain();
    trpc.last.connect();
    trpc.last.emit({ type: 'volumes', scope: 'p1' }, '30');
    trpc.last.fail(trpcError('UNAUTHORIZED', 401));
    expect(hub.getState()).toMatchObject({ status: 'unauthorized', lastEventId: '30' });
    vi.advanceTimersByTime(60_000);
    expect(trpc.subscriptions).toHaveLength(1);

    hub.reconnect();
    expect(trpc.subscriptions).toHaveLength(2);
    expect(trpc.open).toHaveLength(1);
    expect(trpc.last.input).toEqual({ lastEventId: '30' });
    expect(hub.getState().status).toBe('reconnecting');
    trpc.last.connect();
    expect(hub.getState()).toMatchObject({ status: 'open', error: null });
  });

  it('ignores reconnect() while the stream is up, and while nobody holds it', () => {
    const trpc = new FakeTrpc();
    const hub = createUpdateHub(updateStream(trpc));
    hub.reconnect();
    expect(trpc.subscriptions).toHaveLength(0);
    const release = hub.retain();
    hub.reconnect();
    trpc.last.connect();
    hub.reconnect();
    expect(trpc.subscriptions).toHaveLength(1);
    release();
    vi.runAllTimers();
    hub.reconnect();
    expect(trpc.subscriptions).toHaveLength(1);
  });
});
