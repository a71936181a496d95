import type { QueryClient } from '@tanstack/react-query';
import { describe, expectTypeOf, it } from 'vitest';
import type { UpdateType } from '../bindings.js';
import type { UpdateHub } from '../core/hub.js';
import { useAutoRefetch } from './useAutoRefetch.js';

describe('useAutoRefetch types', () => {
  it('takes one update type or several, and returns nothing', () => {
    expectTypeOf(useAutoRefetch('projects')).toEqualTypeOf<void>();
    expectTypeOf(useAutoRefetch).toBeCallableWith(['volumes', 'compute']);
    expectTypeOf(useAutoRefetch).toBeCallableWith(['volumes'] as const);
    // @ts-expect-error: not an update type
    useAutoRefetch('volume');
    // @ts-expect-error: resync is not something to listen to; it always invalidates
    useAutoRefetch('resync');
  });

  it('takes a throttle for all types or per type, and explicit clients', () => {
    expectTypeOf(useAutoRefetch).toBeCallableWith('volumes', { throttleMs: 1000 });
    expectTypeOf(useAutoRefetch).toBeCallableWith(['volumes', 'progress'], {
      throttleMs: { progress: 500 },
    });
    expectTypeOf(useAutoRefetch).toBeCallableWith('images', {
      client: {} as UpdateHub<UpdateType>,
      queryClient: {} as QueryClient,
      enabled: false,
    });
    // @ts-expect-error: throttle windows are keyed by update type
    useAutoRefetch('volumes', { throttleMs: { disks: 500 } });
  });
});
