/**
 * A leading + trailing throttle that merges what arrives during its window: the first value
 * runs at once, the rest of a burst runs once when the window ends (merged), so a burst costs
 * at most one extra run per window.
 */

/** A throttled sink. */
export interface Throttle<V> {
  /** Runs `value` now if the window is closed, else merges it into the trailing run. */
  push(value: V): void;
  /** Drops the pending trailing run and closes the window. */
  cancel(): void;
}

/**
 * A throttle with a window of `windowMs` (0 or less: every push runs at once). `merge` combines
 * values pushed during one window.
 */
export function createThrottle<V>(
  windowMs: number,
  run: (value: V) => void,
  merge: (pending: V, next: V) => V,
): Throttle<V> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending: { value: V } | undefined;

  const openWindow = () => {
    timer = setTimeout(() => {
      timer = undefined;
      if (pending) {
        const { value } = pending;
        pending = undefined;
        openWindow();
        run(value);
      }
    }, windowMs);
  };

  return {
    push(value) {
      if (windowMs <= 0) {
        run(value);
      } else if (timer === undefined) {
        openWindow();
        run(value);
      } else {
        pending = { value: pending ? merge(pending.value, value) : value };
      }
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      pending = undefined;
    },
  };
}
