import { describe, expectTypeOf, it } from 'vitest';
import type { UpdateType } from '../bindings.js';
import type { UpdateHub } from '../core/hub.js';
import type { ConnectionStatus, Notice, StreamState, TabRole } from '../core/notice.js';
import { useSSEUpdates } from './useSSEUpdates.js';

describe('useSSEUpdates types', () => {
  it('takes no argument and returns the stream state', () => {
    expectTypeOf(useSSEUpdates).toBeCallableWith();
    expectTypeOf(useSSEUpdates()).toEqualTypeOf<StreamState>();
    expectTypeOf(useSSEUpdates().status).toEqualTypeOf<ConnectionStatus>();
    expectTypeOf(useSSEUpdates().lastEventId).toEqualTypeOf<string | null>();
    expectTypeOf(useSSEUpdates().role).toEqualTypeOf<TabRole>();
  });

  it('types its callbacks and the explicit client', () => {
    useSSEUpdates({
      onNotice(notice, id) {
        expectTypeOf(notice).toEqualTypeOf<Notice<UpdateType>>();
        expectTypeOf(id).toEqualTypeOf<string | undefined>();
        if (notice.type !== 'resync') expectTypeOf(notice.type).toEqualTypeOf<UpdateType>();
      },
      onStateChange: (state) => expectTypeOf(state).toEqualTypeOf<StreamState>(),
    });
    expectTypeOf(useSSEUpdates).toBeCallableWith({ client: {} as UpdateHub<UpdateType> });
    // @ts-expect-error: an unknown option
    useSSEUpdates({ onMessage: () => {} });
  });

  it('status is one of the five states', () => {
    expectTypeOf<ConnectionStatus>().toEqualTypeOf<
      'connecting' | 'open' | 'reconnecting' | 'closed' | 'unauthorized'
    >();
  });
});
