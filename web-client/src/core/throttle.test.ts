import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createThrottle } from './throttle.js';

describe('createThrottle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const setup = (windowMs: number) => {
    const runs: number[][] = [];
    const throttle = createThrottle<number[]>(
      windowMs,
      (v) => runs.push(v),
      (a, b) => [...a, ...b],
    );
    return { runs, throttle };
  };

  it('runs the first value at once and the rest of a burst once, merged, at the window end', () => {
    const { runs, throttle } = setup(1000);
    throttle.push([1]);
    expect(runs).toEqual([[1]]);
    throttle.push([2]);
    vi.advanceTimersByTime(500);
    throttle.push([3]);
    expect(runs).toEqual([[1]]);
    vi.advanceTimersByTime(500);
    expect(runs).toEqual([[1], [2, 3]]);
  });

  it('costs at most one run per window under a steady stream', () => {
    const { runs, throttle } = setup(1000);
    for (let ms = 0; ms < 5000; ms += 100) {
      throttle.push([ms]);
      vi.advanceTimersByTime(100);
    }
    vi.advanceTimersByTime(1000);
    expect(runs.length).toBe(6);
    expect(runs.flat()).toHaveLength(50);
  });

  it('runs a lone value after a quiet window at once again', () => {
    const { runs, throttle } = setup(1000);
    throttle.push([1]);
    vi.advanceTimersByTime(1000);
    throttle.push([2]);
    expect(runs).toEqual([[1], [2]]);
  });

  it('drops the trailing run on cancel', () => {
    const { runs, throttle } = setup(1000);
    throttle.push([1]);
    throttle.push([2]);
    throttle.cancel();
    vi.advanceTimersByTime(5000);
    expect(runs).toEqual([[1]]);
  });

  it('does not throttle with a window of 0', () => {
    const { runs, throttle } = setup(0);
    throttle.push([1]);
    throttle.push([2]);
    expect(runs).toEqual([[1], [2]]);
  });
});
