/**
 * `useSSEUpdates()`: the app's one update subscription. Mount it once near the root; it keeps
 * the stream open while mounted and returns its state (status, last event id, tab role). Its
 * callbacks are read through a ref, so passing new ones on each render never reconnects.
 */
import { useEffect, useLayoutEffect, useRef, useSyncExternalStore } from 'react';
import type { UpdateType } from '../bindings.js';
import type { UpdateHub } from '../core/hub.js';
import type { Notice, StreamState } from '../core/notice.js';
import { missingProvider, useOptionalTidings } from './context.js';

/** Options of {@link useSSEUpdates}. */
export interface UseSSEUpdatesOptions {
  /** Called with each notice (and its event id). */
  onNotice?: (notice: Notice<UpdateType>, id: string | undefined) => void;
  /** Called when the state changes (status, last event id, role). */
  onStateChange?: (state: StreamState) => void;
  /** An explicit client instead of the provider's (tests, several backends). */
  client?: UpdateHub<UpdateType>;
}

/** Keeps the page's update stream open and returns its state. */
export function useSSEUpdates(options: UseSSEUpdatesOptions = {}): StreamState {
  const tidings = useOptionalTidings();
  const hub = options.client ?? tidings?.hub;
  if (!hub) throw missingProvider('useSSEUpdates');

  const latest = useRef(options);
  useLayoutEffect(() => {
    latest.current = options;
  });

  useEffect(() => {
    const release = hub.retain();
    const offNotice = hub.subscribe((notice, id) => latest.current.onNotice?.(notice, id));
    let previous = hub.getState();
    const offState = hub.subscribeState(() => {
      const state = hub.getState();
      if (state !== previous) {
        previous = state;
        latest.current.onStateChange?.(state);
      }
    });
    return () => {
      offState();
      offNotice();
      release();
    };
  }, [hub]);

  return useSyncExternalStore(hub.subscribeState, hub.getState, hub.getState);
}
