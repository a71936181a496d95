/**
 * Wires a Tidings client for React: the framework-free client (the tRPC client and the hub
 * holding the page's one update stream, shared across tabs by default) and a TanStack
 * QueryClient. {@link TidingsProvider} calls it; call it yourself to share one instance or to
 * configure it outside React.
 */
import { QueryClient } from '@tanstack/react-query';
import type { UpdateType } from '../bindings.js';
import {
  createTidingsClient,
  type TidingsClient,
  type TidingsClientOptions,
} from '../core/client.js';
import { retryUnlessRefused } from '../core/errors.js';
import type { ThrottleSpec } from '../core/invalidator.js';

/** The automatic mode: every notice invalidates its queries, no per-component calls needed. */
export type AutoRefetchOption = boolean | { throttleMs?: ThrottleSpec<UpdateType> };

/** Options of {@link createTidings} (and props of `TidingsProvider`). */
export interface TidingsOptions extends TidingsClientOptions {
  /** Invalidate through the update map on every notice (default `false`). */
  autoRefetch?: AutoRefetchOption;
  /**
   * The cache; default: a new QueryClient whose queries retry failures that may pass on a
   * second try (network, 5xx) but not refusals (`UNAUTHORIZED`, `FORBIDDEN`, other 4xx).
   */
  queryClient?: QueryClient;
}

/** A wired client: what the hooks read from the provider. */
export interface Tidings extends TidingsClient {
  /** The TanStack Query cache. */
  queryClient: QueryClient;
  /** The automatic mode, if on. */
  autoRefetch: false | { throttleMs?: ThrottleSpec<UpdateType> };
}

/** Builds a Tidings client from `options`. */
export function createTidings(options: TidingsOptions = {}): Tidings {
  const auto = options.autoRefetch ?? false;
  return {
    ...createTidingsClient(options),
    queryClient:
      options.queryClient ??
      new QueryClient({ defaultOptions: { queries: { retry: retryUnlessRefused() } } }),
    autoRefetch: auto === false ? false : auto === true ? {} : auto,
  };
}
