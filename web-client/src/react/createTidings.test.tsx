// @vitest-environment happy-dom
import { QueryObserver } from '@tanstack/react-query';
import { TRPCClientError, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppRouter } from '../bindings.js';
import { createTidings } from './createTidings.js';

/** A link answering every call with the server's error envelope for `code`, counting calls. */
function refusingLink(code: string, httpStatus: number) {
  let calls = 0;
  const link: TRPCLink<AppRouter> =
    () =>
    ({ op }) =>
      observable((observer) => {
        calls += 1;
        observer.error(
          TRPCClientError.from({
            error: { message: code, code: -32000, data: { code, httpStatus, path: op.path } },
          }),
        );
        return () => {};
      });
  return { link, calls: () => calls };
}

/** Observes `projects.getAll` through the default QueryClient of a client over `link`. */
function observe(link: TRPCLink<AppRouter>) {
  const tidings = createTidings({ links: [link], crossTab: false });
  const observer = new QueryObserver(tidings.queryClient, {
    queryKey: ['projects'],
    queryFn: () => tidings.trpcClient.projects.getAll.query(),
  });
  const off = observer.subscribe(() => {});
  return { observer, off };
}

describe('createTidings', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('asks once when the server answers UNAUTHORIZED or FORBIDDEN: a refusal is not retried', async () => {
    for (const [code, status] of [
      ['UNAUTHORIZED', 401],
      ['FORBIDDEN', 403],
    ] as const) {
      const { link, calls } = refusingLink(code, status);
      const { observer, off } = observe(link);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(calls()).toBe(1);
      expect(observer.getCurrentResult().status).toBe('error');
      off();
    }
  });

  it('still retries what may pass on a second try', async () => {
    const { link, calls } = refusingLink('SERVICE_UNAVAILABLE', 503);
    const { observer, off } = observe(link);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls()).toBe(4);
    expect(observer.getCurrentResult().status).toBe('error');
    off();
  });
});
