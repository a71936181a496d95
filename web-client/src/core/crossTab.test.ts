import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sharedAcrossTabs } from './crossTab.js';
import { createUpdateHub } from './hub.js';
import type { Notice } from './notice.js';
import { updateStream } from './stream.js';
import { FakeBrowser, FakeTrpc, trpcError } from './testing.js';

const LOCK = 'tidings-test';

/** A tab: its own tRPC client, its hub over the shared source, and what it heard. */
function openTab(browser: FakeBrowser | null) {
  const trpc = new FakeTrpc();
  const env = browser ? browser.tab() : null;
  const hub = createUpdateHub(sharedAcrossTabs(updateStream(trpc), { name: LOCK, env }));
  const heard: [Notice, string | undefined][] = [];
  hub.subscribe((n, id) => heard.push([n, id]));
  const release = hub.retain();
  return { trpc, env, hub, heard, release };
}

const settle = () => vi.runAllTimersAsync();

describe('sharedAcrossTabs', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('gives each tab its own stream without Web Locks or BroadcastChannel', async () => {
    const a = openTab(null);
    const b = openTab(null);
    await settle();
    expect(a.trpc.subscriptions).toHaveLength(1);
    expect(b.trpc.subscriptions).toHaveLength(1);
    expect(a.hub.getState().role).toBe('solo');
  });

  it('opens one stream for two tabs and relays notices and status to the follower', async () => {
    const browser = new FakeBrowser();
    const a = openTab(browser);
    await settle();
    const b = openTab(browser);
    await settle();
    expect(a.trpc.subscriptions).toHaveLength(1);
    expect(b.trpc.subscriptions).toHaveLength(0);
    expect(a.hub.getState().role).toBe('leader');
    expect(b.hub.getState()).toMatchObject({ role: 'follower', status: 'connecting' });

    a.trpc.last.connect();
    a.trpc.last.emit({ type: 'volumes', scope: 'p1' }, '3');
    await settle();
    expect(a.heard).toEqual([[{ type: 'volumes', scope: 'p1' }, '3']]);
    expect(b.heard).toEqual([[{ type: 'volumes', scope: 'p1' }, '3']]);
    expect(b.hub.getState()).toMatchObject({ role: 'follower', status: 'open', lastEventId: '3' });
  });

  it('tells a late follower the leader status', async () => {
    const browser = new FakeBrowser();
    const a = openTab(browser);
    await settle();
    a.trpc.last.connect();
    a.trpc.last.emit({ type: 'images' }, '9');
    await settle();
    const b = openTab(browser);
    await settle();
    expect(b.hub.getState()).toMatchObject({ status: 'open', lastEventId: '9', role: 'follower' });
  });

  it('hands the stream to a follower when the leader closes, resuming after the last id', async () => {
    const browser = new FakeBrowser();
    const a = openTab(browser);
    await settle();
    const b = openTab(browser);
    const c = openTab(browser);
    await settle();
    a.trpc.last.connect();
    a.trpc.last.emit({ type: 'compute' }, '21');
    await settle();

    a.release();
    await settle();
    expect(a.trpc.open).toHaveLength(0);
    expect(b.trpc.subscriptions).toHaveLength(1);
    expect(b.trpc.last.input).toEqual({ lastEventId: '21' });
    expect(c.trpc.subscriptions).toHaveLength(0);
    expect(b.hub.getState()).toMatchObject({ role: 'leader', status: 'reconnecting' });
    expect(c.hub.getState()).toMatchObject({ role: 'follower', status: 'reconnecting' });

    b.trpc.last.connect();
    b.trpc.last.emit({ type: 'volumes' }, '22');
    await settle();
    expect(c.heard.at(-1)).toEqual([{ type: 'volumes' }, '22']);
    expect(c.hub.getState()).toMatchObject({ status: 'open', lastEventId: '22' });
  });

  it('takes over when the leader tab dies without a word', async () => {
    const browser = new FakeBrowser();
    const a = openTab(browser);
    await settle();
    const b = openTab(browser);
    await settle();
    a.trpc.last.connect();
    a.trpc.last.emit({ type: 'networks' }, '5');
    await settle();
    browser.kill(a.env!.id);
    await settle();
    expect(browser.holder(LOCK)).toBe(b.env!.id);
    expect(b.trpc.subscriptions).toHaveLength(1);
    expect(b.trpc.last.input).toEqual({ lastEventId: '5' });
  });

  it('withdraws a waiting follower that closes before it ever leads', async () => {
    const browser = new FakeBrowser();
    const a = openTab(browser);
    await settle();
    const b = openTab(browser);
    await settle();
    b.release();
    await settle();
    a.release();
    await settle();
    expect(b.trpc.subscriptions).toHaveLength(0);
    expect(browser.holder(LOCK)).toBeUndefined();
  });

  it('tells every tab the session ended, and reopens once when any tab reconnects after login', async () => {
    const browser = new FakeBrowser();
    const a = openTab(browser);
    await settle();
    const b = openTab(browser);
    const c = openTab(browser);
    await settle();
    a.trpc.last.connect();
    a.trpc.last.emit({ type: 'volumes', scope: 'p1' }, '11');
    a.trpc.last.fail(trpcError('UNAUTHORIZED', 401, 'the session ended; log in again'));
    await settle();
    for (const tab of [a, b, c]) expect(tab.hub.getState().status).toBe('unauthorized');
    expect(b.hub.getState().error).toBe('the session ended; log in again');
    // No tab retries on its own.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(a.trpc.subscriptions).toHaveLength(1);
    expect(b.trpc.subscriptions).toHaveLength(0);

    // A follower logs in: it asks the leader, which reopens its one stream.
    b.hub.reconnect();
    c.hub.reconnect();
    await settle();
    expect(a.trpc.subscriptions).toHaveLength(2);
    expect(a.trpc.open).toHaveLength(1);
    expect(a.trpc.last.input).toEqual({ lastEventId: '11' });
    expect(b.trpc.subscriptions).toHaveLength(0);
    expect(c.trpc.subscriptions).toHaveLength(0);
    a.trpc.last.connect();
    await settle();
    for (const tab of [a, b, c])
      expect(tab.hub.getState()).toMatchObject({ status: 'open', error: null });

    // Asking again while the stream is up changes nothing.
    b.hub.reconnect();
    a.hub.reconnect();
    await settle();
    expect(a.trpc.subscriptions).toHaveLength(2);
    expect(a.hub.getState().role).toBe('leader');
  });

  it('lets the leader tab reopen its own ended stream without giving up the lock', async () => {
    const browser = new FakeBrowser();
    const a = openTab(browser);
    await settle();
    const b = openTab(browser);
    await settle();
    a.trpc.last.fail(trpcError('UNAUTHORIZED', 401));
    await settle();
    a.hub.reconnect();
    await settle();
    expect(browser.holder(LOCK)).toBe(a.env!.id);
    expect(a.trpc.open).toHaveLength(1);
    expect(b.hub.getState()).toMatchObject({ role: 'follower', status: 'connecting' });
  });
});
