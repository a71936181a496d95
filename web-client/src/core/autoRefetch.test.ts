// The core with TanStack's QueryClient alone (@tanstack/query-core, no React): observed
// queries keyed as tRPC keys them refetch on the notices of their type, in their scope.
import { QueryClient, QueryObserver } from '@tanstack/query-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UpdateType } from '../bindings.js';
import { autoRefetch, type InvalidatingQueryClient } from './autoRefetch.js';
import { createUpdateHub } from './hub.js';
import { trpcQueryKey } from './planner.js';
import { updateStream } from './stream.js';
import { FakeTrpc, trpcError } from './testing.js';

const MAP = {
  projects: ['projects.getAll'],
  compute: ['compute.instances.getAll'],
  volumes: ['volumes.getAll', 'projects.getQuotas'],
  images: ['images.getAll'],
  networks: ['networks.getAll'],
  progress: ['progress.getActive'],
} as const;

afterEach(() => vi.useRealTimers());

function setup() {
  const stream = new FakeTrpc();
  const hub = createUpdateHub<UpdateType>(updateStream(stream));
  const queryClient: InvalidatingQueryClient & QueryClient = new QueryClient();
  const calls: Record<string, number> = {};
  /** Observes the query at `path` with `input`, as tRPC's integrations key it. */
  const observe = (path: string, input?: unknown) => {
    const key = JSON.stringify([path, input ?? null]);
    const observer = new QueryObserver(queryClient, {
      queryKey: trpcQueryKey(path, input),
      queryFn: () => {
        calls[key] = (calls[key] ?? 0) + 1;
        return calls[key];
      },
    });
    const off = observer.subscribe(() => {});
    return { observer, off, calls: () => calls[key] ?? 0 };
  };
  return { stream, hub, queryClient, observe };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('autoRefetch', () => {
  it('refetches the observed queries of a notice type, every input, and holds the stream', async () => {
    const { stream, hub, queryClient, observe } = setup();
    const all = observe('volumes.getAll');
    const ofA = observe('volumes.getAll', { projectId: 'a' });
    const images = observe('images.getAll');
    await settle();
    const stop = autoRefetch(queryClient, { hub, map: MAP }, 'volumes');
    expect(stream.open).toHaveLength(1);
    stream.last.emit({ type: 'volumes' }, '1');
    stream.last.emit({ type: 'images' }, '2');
    await settle();
    expect([all.calls(), ofA.calls(), images.calls()]).toEqual([2, 2, 1]);
    stop();
    stop();
    await settle();
    expect(stream.open).toHaveLength(0);
  });

  it('leaves the queries of other projects alone on a scoped notice, and inactive ones stale', async () => {
    const { stream, hub, queryClient, observe } = setup();
    const ofA = observe('volumes.getAll', { projectId: 'a' });
    const ofB = observe('volumes.getAll', { projectId: 'b' });
    const unfiltered = observe('volumes.getAll');
    const hidden = observe('projects.getQuotas', { projectId: 'a' });
    await settle();
    hidden.off();
    autoRefetch(queryClient, { hub, map: MAP });
    stream.last.emit({ type: 'volumes', scope: 'a' }, '1');
    await settle();
    expect([ofA.calls(), ofB.calls(), unfiltered.calls(), hidden.calls()]).toEqual([2, 1, 2, 1]);
    expect(
      queryClient.getQueryState(trpcQueryKey('projects.getQuotas', { projectId: 'a' })),
    ).toMatchObject({ isInvalidated: true });
  });

  it('refetches everything on resync, and stops after the returned function', async () => {
    const { stream, hub, queryClient, observe } = setup();
    const images = observe('images.getAll');
    const projects = observe('projects.getAll');
    await settle();
    const stop = autoRefetch(queryClient, { hub, map: MAP }, ['volumes']);
    stream.last.emit({ type: 'resync', reason: 'gap' }, '9');
    await settle();
    expect([images.calls(), projects.calls()]).toEqual([2, 2]);
    stop();
    const other = autoRefetch(queryClient, { hub, map: MAP }, 'images');
    stream.last.emit({ type: 'volumes' }, '10');
    stream.last.emit({ type: 'images' }, '11');
    await settle();
    expect([images.calls(), projects.calls()]).toEqual([3, 2]);
    other();
  });

  it('throttles per type and drops the trailing refetch once the stream is unauthorized', async () => {
    vi.useFakeTimers();
    const { stream, hub, queryClient } = setup();
    const invalidate = vi.spyOn(queryClient, 'invalidateQueries');
    autoRefetch(queryClient, { hub, map: MAP }, 'volumes', { throttleMs: 1000 });
    stream.last.connect();
    for (let i = 0; i < 5; i++) stream.last.emit({ type: 'volumes' }, String(i));
    // The leading refetch: one call per path of `volumes`.
    expect(invalidate).toHaveBeenCalledTimes(2);
    stream.last.fail(trpcError('UNAUTHORIZED', 401));
    await vi.advanceTimersByTimeAsync(5000);
    expect(invalidate).toHaveBeenCalledTimes(2);
  });
});
