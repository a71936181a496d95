/**
 * Turns notices into invalidations: plans each notice through the query map, throttles per
 * update type (leading + trailing, merged), and hands each plan to a sink that knows the cache
 * (TanStack Query in the React layer). A resync invalidates everything at once and drops what
 * the throttles held, since it covers them.
 */
import { isResync, type Notice, type QueryMap } from './notice.js';
import { isEmptyPlan, mergePlans, planInvalidation, type InvalidationPlan } from './planner.js';
import { createThrottle, type Throttle } from './throttle.js';

/** Per-type throttle windows in milliseconds: one for all types, or one per type. */
export type ThrottleSpec<T extends string> = number | Partial<Record<T, number>>;

/** Options of {@link createInvalidator}. */
export interface InvalidatorOptions<T extends string> {
  /** Update type → query paths (UPDATE_QUERY_MAP). */
  map: QueryMap<T>;
  /** Applies a plan to the cache. */
  invalidate: (plan: InvalidationPlan) => void;
  /** Only notices of these types invalidate (resync always does); default: every type. */
  types?: readonly T[];
  /** At most one invalidation per window per type (leading + trailing); default: none. */
  throttleMs?: ThrottleSpec<T>;
}

/** A notice handler that invalidates; `dispose` drops pending trailing invalidations. */
export interface Invalidator<T extends string> {
  /** Handles one notice. */
  handle(notice: Notice<T>): void;
  /**
   * Drops pending trailing invalidations and keeps handling notices: for when a refetch now
   * would be refused (the stream ended as `unauthorized`: the session is gone).
   */
  cancel(): void;
  /** Stops: pending trailing invalidations are dropped. */
  dispose(): void;
}

/** An invalidator over `options.map`. */
export function createInvalidator<T extends string>(
  options: InvalidatorOptions<T>,
): Invalidator<T> {
  const only = options.types ? new Set(options.types) : undefined;
  const throttles = new Map<string, Throttle<InvalidationPlan>>();
  let disposed = false;

  const windowOf = (type: T): number => {
    const spec = options.throttleMs;
    if (typeof spec === 'number') return spec;
    return spec?.[type] ?? 0;
  };

  const throttleOf = (type: T): Throttle<InvalidationPlan> => {
    let throttle = throttles.get(type);
    if (!throttle) {
      throttle = createThrottle(windowOf(type), options.invalidate, mergePlans);
      throttles.set(type, throttle);
    }
    return throttle;
  };

  return {
    handle(notice) {
      if (disposed) return;
      if (isResync(notice)) {
        for (const throttle of throttles.values()) throttle.cancel();
        options.invalidate({ kind: 'all' });
        return;
      }
      const plan = planInvalidation(notice, options.map, only);
      if (isEmptyPlan(plan)) return;
      throttleOf(notice.type as T).push(plan);
    },
    cancel() {
      for (const throttle of throttles.values()) throttle.cancel();
    },
    dispose() {
      disposed = true;
      for (const throttle of throttles.values()) throttle.cancel();
      throttles.clear();
    },
  };
}
