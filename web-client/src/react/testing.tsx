/**
 * Test helpers for the hooks: a Tidings client over a fake update stream and a fake tRPC link
 * that answers queries from a table and counts them, and `@trpc/tanstack-react-query` set up as
 * an app does. Not part of the public API.
 */
import { QueryClient } from '@tanstack/react-query';
import type { TRPCLink } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { observable } from '@trpc/server/observable';
import type { AppRouter, UpdateType } from '../bindings.js';
import { createUpdateHub } from '../core/hub.js';
import { updateStream } from '../core/stream.js';
import { FakeTrpc } from '../core/testing.js';
import { createTidings, type TidingsOptions } from './createTidings.js';

/** The recommended tRPC React integration over the server's router, as an app sets it up. */
export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

export const TEST_MAP = {
  projects: ['projects.getAll'],
  compute: ['compute.instances.getAll'],
  volumes: ['volumes.getAll'],
  images: ['images.getAll'],
  networks: ['networks.getAll'],
  progress: ['progress.getActive'],
} as const satisfies Record<UpdateType, readonly string[]>;

/** A link answering each query path from `answers`, counting calls per path. */
export function countingLink(answers: Record<string, (input: unknown) => unknown>) {
  const calls: Record<string, number> = {};
  const link: TRPCLink<AppRouter> =
    () =>
    ({ op }) =>
      observable((observer) => {
        calls[op.path] = (calls[op.path] ?? 0) + 1;
        const answer = answers[op.path];
        if (!answer) {
          observer.error(new Error(`no answer for ${op.path}`) as never);
        } else {
          observer.next({ result: { type: 'data', data: answer(op.input) } });
          observer.complete();
        }
        return () => {};
      });
  return { link, calls };
}

/** A Tidings client whose update stream is driven by the returned fake. */
export function fakeTidings(
  answers: Record<string, (input: unknown) => unknown> = {},
  options: TidingsOptions = {},
) {
  const stream = new FakeTrpc();
  const hub = createUpdateHub<UpdateType>(updateStream(stream));
  const { link, calls } = countingLink(answers);
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const tidings = createTidings({ links: [link], hub, queryClient, map: TEST_MAP, ...options });
  return { tidings, stream, hub, calls, queryClient };
}
