import { describe, expect, it } from 'vitest';
import type { Notice, StreamState } from './notice.js';
import { openUpdateStream, UPDATES_PATH, unwrapTracked } from './stream.js';
import { FakeTrpc, trpcError } from './testing.js';

const record = () => {
  const notices: [Notice, string | undefined][] = [];
  const states: Partial<StreamState>[] = [];
  let state: Partial<StreamState> = {};
  return {
    notices,
    states,
    get state() {
      return state;
    },
    events: {
      notice: (n: Notice, id: string | undefined) => notices.push([n, id]),
      state: (patch: Partial<StreamState>) => {
        states.push(patch);
        state = { ...state, ...patch };
      },
    },
  };
};

describe('openUpdateStream', () => {
  it('subscribes once to updates.subscribe, without input when starting fresh', () => {
    const trpc = new FakeTrpc();
    openUpdateStream(trpc, record().events, null);
    expect(trpc.subscriptions).toHaveLength(1);
    expect(trpc.last.path).toBe(UPDATES_PATH);
    expect(trpc.last.input).toBeUndefined();
  });

  it('resumes after a given event id and passes a type filter', () => {
    const trpc = new FakeTrpc();
    const rec = record();
    openUpdateStream(trpc, rec.events, '41', { types: ['volumes'] });
    expect(trpc.last.input).toEqual({ lastEventId: '41', types: ['volumes'] });
    expect(rec.state.status).toBe('reconnecting');
  });

  it('reports connecting, open, reconnecting and open again, then closed', () => {
    const trpc = new FakeTrpc();
    const rec = record();
    const stream = openUpdateStream(trpc, rec.events, null);
    expect(rec.state.status).toBe('connecting');
    trpc.last.connect();
    expect(rec.state).toMatchObject({ status: 'open', error: null });
    const error = new Error('socket hang up');
    trpc.last.drop(error);
    expect(rec.state).toMatchObject({ status: 'reconnecting', error });
    trpc.last.connect();
    expect(rec.state).toMatchObject({ status: 'open', error: null });
    stream.close();
    expect(rec.state.status).toBe('closed');
    expect(trpc.last.closed).toBe(true);
  });

  it('stays connecting while the first connection fails', () => {
    const trpc = new FakeTrpc();
    const rec = record();
    openUpdateStream(trpc, rec.events, null);
    trpc.last.drop();
    expect(rec.state.status).toBe('connecting');
  });

  it('delivers tracked notices with their ids and remembers the last one', () => {
    const trpc = new FakeTrpc();
    const rec = record();
    openUpdateStream(trpc, rec.events, null);
    trpc.last.connect();
    trpc.last.emit({ type: 'volumes', scope: 'p1' }, '7');
    trpc.last.emit({ type: 'resync', reason: 'gap' }, '8');
    expect(rec.notices).toEqual([
      [{ type: 'volumes', scope: 'p1' }, '7'],
      [{ type: 'resync', reason: 'gap' }, '8'],
    ]);
    expect(rec.state.lastEventId).toBe('8');
  });

  it('reports a fatal error as closed with the error', () => {
    const trpc = new FakeTrpc();
    const rec = record();
    openUpdateStream(trpc, rec.events, null);
    const error = new Error('forbidden');
    trpc.last.callbacks.onError(error);
    expect(rec.state).toMatchObject({ status: 'closed', error });
  });

  it('reports UNAUTHORIZED as unauthorized, for good: what the link says afterwards is ignored', () => {
    const trpc = new FakeTrpc();
    const rec = record();
    openUpdateStream(trpc, rec.events, null);
    trpc.last.connect();
    trpc.last.emit({ type: 'volumes', scope: 'p1' }, '4');
    const error = trpcError('UNAUTHORIZED', 401, 'the session ended; log in again');
    trpc.last.fail(error);
    expect(rec.state).toMatchObject({ status: 'unauthorized', error, lastEventId: '4' });
    const reported = rec.states.length;
    trpc.last.callbacks.onConnectionStateChange({ state: 'connecting', error: null });
    trpc.last.callbacks.onComplete();
    expect(rec.states).toHaveLength(reported);
    expect(rec.state.status).toBe('unauthorized');
    // Nothing resubscribes: a refused stream is not retried.
    expect(trpc.subscriptions).toHaveLength(1);
  });

  it('reports other refusals (FORBIDDEN) as closed with the error', () => {
    const trpc = new FakeTrpc();
    const rec = record();
    openUpdateStream(trpc, rec.events, null);
    const error = trpcError('FORBIDDEN', 403);
    trpc.last.fail(error);
    expect(rec.state).toMatchObject({ status: 'closed', error });
  });

  it('ignores data after close', () => {
    const trpc = new FakeTrpc();
    const rec = record();
    const stream = openUpdateStream(trpc, rec.events, null);
    stream.close();
    trpc.last.emit({ type: 'images' }, '1');
    expect(rec.notices).toEqual([]);
  });
});

describe('unwrapTracked', () => {
  it('splits tracked events and passes untracked ones through', () => {
    expect(unwrapTracked({ id: '3', data: { type: 'images' } })).toEqual({
      notice: { type: 'images' },
      id: '3',
    });
    expect(unwrapTracked({ type: 'images' })).toEqual({
      notice: { type: 'images' },
      id: undefined,
    });
  });
});
