import { QueryClient as CoreQueryClient } from '@tanstack/query-core';
import { QueryClient as ReactQueryClient } from '@tanstack/react-query';
import { describe, expectTypeOf, it } from 'vitest';
import type { UpdateType } from '../bindings.js';
import { autoRefetch } from './autoRefetch.js';
import type { TidingsClient } from './client.js';

describe('autoRefetch types', () => {
  it("takes TanStack's QueryClient, with or without React, and update types", () => {
    const tidings = {} as TidingsClient;
    expectTypeOf(autoRefetch(new CoreQueryClient(), tidings)).toEqualTypeOf<() => void>();
    expectTypeOf(autoRefetch).toBeCallableWith(new ReactQueryClient(), tidings, 'projects');
    expectTypeOf(autoRefetch).toBeCallableWith(new CoreQueryClient(), tidings, [
      'volumes',
      'compute',
    ] as UpdateType[]);
    expectTypeOf(autoRefetch).toBeCallableWith(new CoreQueryClient(), tidings, 'images', {
      throttleMs: { images: 500 },
    });
    // @ts-expect-error: not an update type
    autoRefetch(new CoreQueryClient(), tidings, 'volume');
    // @ts-expect-error: not a query cache
    autoRefetch({}, tidings);
  });
});
