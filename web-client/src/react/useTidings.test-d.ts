import type { QueryClient } from '@tanstack/react-query';
import type { TRPCClient } from '@trpc/client';
import { describe, expectTypeOf, it } from 'vitest';
import type { AppRouter, UpdateType } from '../bindings.js';
import type { UpdateHub } from '../core/hub.js';
import type { Tidings } from './createTidings.js';
import { useTidings } from './useTidings.js';

describe('useTidings types', () => {
  it('returns the wired client', () => {
    expectTypeOf(useTidings).toBeCallableWith();
    expectTypeOf(useTidings()).toEqualTypeOf<Tidings>();
    expectTypeOf(useTidings().trpcClient).toEqualTypeOf<TRPCClient<AppRouter>>();
    expectTypeOf(useTidings().queryClient).toEqualTypeOf<QueryClient>();
    expectTypeOf(useTidings().hub).toEqualTypeOf<UpdateHub<UpdateType>>();
  });
});
