// @vitest-environment happy-dom
import { QueryClient, useQuery } from '@tanstack/react-query';
import { createTRPCClient } from '@trpc/client';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import type { ReactNode } from 'react';
import { act, render, renderHook, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppRouter, UpdateType } from '../bindings.js';
import { createUpdateHub } from '../core/hub.js';
import { updateStream } from '../core/stream.js';
import { FakeTrpc, trpcError } from '../core/testing.js';
import { TidingsProvider } from './TidingsProvider.js';
import { queryKeyPrefix, trpcQueryKey } from '../core/planner.js';
import { countingLink, fakeTidings, TEST_MAP, TRPCProvider, useTRPC } from './testing.js';
import { useAutoRefetch } from './useAutoRefetch.js';
import { useSSEUpdates } from './useSSEUpdates.js';

afterEach(() => vi.useRealTimers());

function explicit() {
  const stream = new FakeTrpc();
  const client = createUpdateHub<UpdateType>(updateStream(stream));
  const queryClient = new QueryClient();
  const invalidate = vi.spyOn(queryClient, 'invalidateQueries').mockResolvedValue();
  return { stream, client, queryClient, invalidate };
}

describe('useAutoRefetch', () => {
  it('explains how to fix a missing provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => renderHook(() => useAutoRefetch('projects'))).toThrow(/TidingsProvider/);
  });

  it('invalidates the mapped query key prefixes, refetching active queries only', () => {
    const { stream, client, queryClient, invalidate } = explicit();
    renderHook(() =>
      useAutoRefetch(['volumes', 'projects'], { client, queryClient, map: TEST_MAP }),
    );
    act(() => stream.last.emit({ type: 'volumes' }, '1'));
    act(() => stream.last.emit({ type: 'images' }, '2'));
    expect(invalidate).toHaveBeenCalledTimes(1);
    expect(invalidate).toHaveBeenCalledWith(
      { queryKey: [['volumes', 'getAll']], refetchType: 'active' },
      { cancelRefetch: false },
    );
  });

  it('invalidates everything on resync', () => {
    const { stream, client, queryClient, invalidate } = explicit();
    renderHook(() => useAutoRefetch('images', { client, queryClient, map: TEST_MAP }));
    act(() => stream.last.emit({ type: 'resync', reason: 'gap' }, '9'));
    expect(invalidate).toHaveBeenCalledWith({ refetchType: 'active' }, { cancelRefetch: false });
  });

  it('throttles a burst to one leading and one trailing invalidation per window', () => {
    vi.useFakeTimers();
    const { stream, client, queryClient, invalidate } = explicit();
    renderHook(() =>
      useAutoRefetch('volumes', { client, queryClient, map: TEST_MAP, throttleMs: 1000 }),
    );
    act(() => {
      for (let i = 0; i < 20; i++) stream.last.emit({ type: 'volumes', scope: 'p1' }, String(i));
    });
    expect(invalidate).toHaveBeenCalledTimes(1);
    act(() => void vi.advanceTimersByTime(1000));
    expect(invalidate).toHaveBeenCalledTimes(2);
    act(() => void vi.advanceTimersByTime(5000));
    expect(invalidate).toHaveBeenCalledTimes(2);
  });

  it('drops the pending trailing refetch when the stream ends as unauthorized', () => {
    vi.useFakeTimers();
    const { stream, client, queryClient, invalidate } = explicit();
    renderHook(() =>
      useAutoRefetch('volumes', { client, queryClient, map: TEST_MAP, throttleMs: 1000 }),
    );
    act(() => {
      stream.last.connect();
      stream.last.emit({ type: 'volumes', scope: 'p1' }, '1');
      stream.last.emit({ type: 'volumes', scope: 'p1' }, '2');
    });
    expect(invalidate).toHaveBeenCalledTimes(1);
    act(() => stream.last.fail(trpcError('UNAUTHORIZED', 401)));
    act(() => void vi.advanceTimersByTime(5000));
    expect(invalidate).toHaveBeenCalledTimes(1);
    expect(client.getState().status).toBe('unauthorized');
    expect(stream.subscriptions).toHaveLength(1);
  });

  it('does not resubscribe when given a new array of the same types', () => {
    const { stream, client, queryClient } = explicit();
    const subscribe = vi.spyOn(client, 'subscribe');
    const { rerender } = renderHook(() =>
      useAutoRefetch(['volumes', 'compute'], { client, queryClient, map: TEST_MAP }),
    );
    rerender();
    rerender();
    expect(subscribe).toHaveBeenCalledTimes(1);
    expect(stream.subscriptions).toHaveLength(1);
  });

  it('refetches the page query of the seed usage when its notice arrives', async () => {
    let names = ['demo'];
    const { tidings, stream, calls } = fakeTidings({
      'projects.getAll': () => names.map((name) => ({ id: name, name })),
    });
    function App() {
      useSSEUpdates();
      return <Projects />;
    }
    function Projects() {
      const trpc = useTRPC();
      const projects = useQuery(trpc.projects.getAll.queryOptions());
      useAutoRefetch('projects');
      return <p>{projects.data?.map((p) => p.name).join(',') ?? 'loading'}</p>;
    }
    render(
      <TidingsProvider tidings={tidings} TRPCProvider={TRPCProvider}>
        <App />
      </TidingsProvider>,
    );
    await screen.findByText('demo');
    names = ['demo', 'ops'];
    act(() => stream.last.emit({ type: 'projects' }, '1'));
    await screen.findByText('demo,ops');
    expect(calls['projects.getAll']).toBe(2);
    expect(stream.subscriptions).toHaveLength(1);
  });

  it('leaves queries of other projects alone on a scoped notice', async () => {
    const { tidings, stream, calls } = fakeTidings({
      'volumes.getAll': (input) => [{ id: (input as { projectId: string }).projectId }],
    });
    function Volumes({ projectId }: { projectId: string }) {
      const trpc = useTRPC();
      const volumes = useQuery(trpc.volumes.getAll.queryOptions({ projectId }));
      return <p>{volumes.data ? `volumes of ${projectId}` : 'loading'}</p>;
    }
    function Page() {
      useAutoRefetch('volumes');
      return (
        <>
          <Volumes projectId="a" />
          <Volumes projectId="b" />
        </>
      );
    }
    render(
      <TidingsProvider tidings={tidings} TRPCProvider={TRPCProvider}>
        <Page />
      </TidingsProvider>,
    );
    await screen.findByText('volumes of b');
    act(() => stream.last.emit({ type: 'volumes', scope: 'a' }, '1'));
    await waitFor(() => expect(calls['volumes.getAll']).toBe(3));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls['volumes.getAll']).toBe(3);
  });

  it('refetches without per-component calls in the automatic mode', async () => {
    let count = 1;
    const { tidings, stream, calls } = fakeTidings(
      { 'images.getAll': () => Array.from({ length: count }, (_, i) => ({ id: String(i) })) },
      { autoRefetch: true },
    );
    function Images() {
      const trpc = useTRPC();
      const images = useQuery(trpc.images.getAll.queryOptions());
      return <p>{images.data ? `${images.data.length} images` : 'loading'}</p>;
    }
    render(
      <TidingsProvider tidings={tidings} TRPCProvider={TRPCProvider}>
        <Images />
      </TidingsProvider>,
    );
    await screen.findByText('1 images');
    count = 2;
    act(() => stream.last.emit({ type: 'images' }, '1'));
    await screen.findByText('2 images');
    expect(calls['images.getAll']).toBe(2);
  });

  it("invalidates by the keys of tRPC's own query key functions", () => {
    const { link } = countingLink({});
    const trpc = createTRPCOptionsProxy<AppRouter>({
      client: createTRPCClient<AppRouter>({ links: [link] }),
      queryClient: new QueryClient(),
    });
    expect(trpc.volumes.getAll.pathFilter().queryKey).toEqual(queryKeyPrefix('volumes.getAll'));
    expect(trpc.compute.instances.getAll.pathKey()).toEqual(
      queryKeyPrefix('compute.instances.getAll'),
    );
    expect(trpc.volumes.getAll.queryKey({ projectId: 'a' })).toEqual(
      trpcQueryKey('volumes.getAll', { projectId: 'a' }),
    );
    expect(trpc.projects.getAll.queryKey()).toEqual(trpcQueryKey('projects.getAll'));
  });

  it("wires the classic integration's provider with the client and the cache", () => {
    const { tidings } = fakeTidings();
    const given: unknown[] = [];
    const trpc = {
      Provider(props: { client: unknown; queryClient: unknown; children: ReactNode }) {
        given.push(props.client, props.queryClient);
        return <>{props.children}</>;
      },
    };
    render(
      <TidingsProvider tidings={tidings} trpc={trpc}>
        <p>inside</p>
      </TidingsProvider>,
    );
    expect(screen.getByText('inside')).toBeTruthy();
    expect(given[0]).toBe(tidings.trpcClient);
    expect(given[1]).toBe(tidings.queryClient);
  });
});
