// @vitest-environment happy-dom
import { act, render, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UpdateType } from '../bindings.js';
import { createUpdateHub } from '../core/hub.js';
import { updateStream } from '../core/stream.js';
import { FakeTrpc } from '../core/testing.js';
import { TidingsProvider } from './TidingsProvider.js';
import { fakeTidings } from './testing.js';
import { useSSEUpdates } from './useSSEUpdates.js';

describe('useSSEUpdates', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('explains how to fix a missing provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => renderHook(() => useSSEUpdates())).toThrow(/wrap the app in <TidingsProvider>/);
  });

  it('opens the stream while mounted and returns its status', () => {
    const stream = new FakeTrpc();
    const client = createUpdateHub<UpdateType>(updateStream(stream));
    const { result, unmount } = renderHook(() => useSSEUpdates({ client }));
    expect(stream.open).toHaveLength(1);
    expect(result.current.status).toBe('connecting');
    act(() => stream.last.connect());
    expect(result.current.status).toBe('open');
    act(() => stream.last.emit({ type: 'images' }, '4'));
    expect(result.current.lastEventId).toBe('4');
    act(() => stream.last.drop());
    expect(result.current.status).toBe('reconnecting');
    unmount();
    act(() => void vi.runAllTimers());
    expect(stream.open).toHaveLength(0);
  });

  it('never reconnects for a new callback, and calls the latest one', () => {
    const stream = new FakeTrpc();
    const client = createUpdateHub<UpdateType>(updateStream(stream));
    const first = vi.fn();
    const second = vi.fn();
    const { rerender } = renderHook(({ onNotice }) => useSSEUpdates({ client, onNotice }), {
      initialProps: { onNotice: first },
    });
    rerender({ onNotice: second });
    act(() => stream.last.emit({ type: 'volumes', scope: 'p1' }, '1'));
    expect(stream.subscriptions).toHaveLength(1);
    expect(first).not.toHaveBeenCalled();
    expect(second).toHaveBeenCalledWith({ type: 'volumes', scope: 'p1' }, '1');
  });

  it('reports state changes to onStateChange', () => {
    const stream = new FakeTrpc();
    const client = createUpdateHub<UpdateType>(updateStream(stream));
    const onStateChange = vi.fn();
    renderHook(() => useSSEUpdates({ client, onStateChange }));
    act(() => stream.last.connect());
    expect(onStateChange).toHaveBeenLastCalledWith(expect.objectContaining({ status: 'open' }));
  });

  it('uses the provider stream as written in the seed: function App() { useSSEUpdates() }', () => {
    const { tidings, stream } = fakeTidings();
    let status = '';
    function App() {
      status = useSSEUpdates().status;
      return null;
    }
    render(
      <TidingsProvider tidings={tidings}>
        <App />
      </TidingsProvider>,
    );
    act(() => stream.last.connect());
    expect(status).toBe('open');
    expect(stream.subscriptions).toHaveLength(1);
  });
});
