// @vitest-environment happy-dom
import { QueryClient } from '@tanstack/react-query';
import { act, render, renderHook, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UpdateType } from '../bindings';
import { createUpdateHub } from '../core/hub';
import { updateStream } from '../core/stream';
import { FakeTrpc, trpcError } from '../core/testing';
import { TidingsProvider } from './TidingsProvider';
import { fakeTidings, TEST_MAP } from './testing';
import { trpc } from './trpc';
import { useAutoRefetch } from './useAutoRefetch';
import { useSSEUpdates } from './useSSEUpdates';

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
      const projects = trpc.projects.getAll.useQuery();
      useAutoRefetch('projects');
      return <p>{projects.data?.map((p) => p.name).join(',') ?? 'loading'}</p>;
    }
    render(
      <TidingsProvider tidings={tidings}>
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
      const volumes = trpc.volumes.getAll.useQuery({ projectId });
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
      <TidingsProvider tidings={tidings}>
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
      const images = trpc.images.getAll.useQuery();
      return <p>{images.data ? `${images.data.length} images` : 'loading'}</p>;
    }
    render(
      <TidingsProvider tidings={tidings}>
        <Images />
      </TidingsProvider>,
    );
    await screen.findByText('1 images');
    count = 2;
    act(() => stream.last.emit({ type: 'images' }, '1'));
    await screen.findByText('2 images');
    expect(calls['images.getAll']).toBe(2);
  });
});
