import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createInvalidator } from './invalidator.js';
import type { InvalidationPlan } from './planner.js';

const MAP = {
  projects: ['projects.getAll'],
  volumes: ['volumes.getAll'],
  compute: ['compute.instances.getAll'],
} as const;
type T = keyof typeof MAP;

describe('createInvalidator', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const setup = (
    options: { types?: T[]; throttleMs?: number | Partial<Record<T, number>> } = {},
  ) => {
    const plans: InvalidationPlan[] = [];
    const invalidator = createInvalidator<T>({
      map: MAP,
      invalidate: (p) => plans.push(p),
      ...options,
    });
    return { plans, invalidator };
  };

  it('invalidates the mapped paths of each notice', () => {
    const { plans, invalidator } = setup();
    invalidator.handle({ type: 'volumes', scope: 'p1' });
    invalidator.handle({ type: 'projects' });
    expect(plans).toEqual([
      { kind: 'paths', paths: ['volumes.getAll'], scopes: new Set(['p1']) },
      { kind: 'paths', paths: ['projects.getAll'], scopes: null },
    ]);
  });

  it('listens only to its types', () => {
    const { plans, invalidator } = setup({ types: ['projects'] });
    invalidator.handle({ type: 'volumes' });
    expect(plans).toEqual([]);
  });

  it('throttles a burst per type: leading, then one merged trailing invalidation', () => {
    const { plans, invalidator } = setup({ throttleMs: 1000 });
    for (const scope of ['p1', 'p2', 'p3', 'p1']) invalidator.handle({ type: 'volumes', scope });
    invalidator.handle({ type: 'projects' });
    expect(plans).toHaveLength(2);
    vi.advanceTimersByTime(1000);
    expect(plans).toHaveLength(3);
    expect(plans[2]).toEqual({
      kind: 'paths',
      paths: ['volumes.getAll'],
      scopes: new Set(['p2', 'p3', 'p1']),
    });
  });

  it('throttles only the types given a window', () => {
    const { plans, invalidator } = setup({ throttleMs: { compute: 500 } });
    invalidator.handle({ type: 'compute' });
    invalidator.handle({ type: 'compute' });
    invalidator.handle({ type: 'volumes' });
    invalidator.handle({ type: 'volumes' });
    expect(plans).toHaveLength(3);
  });

  it('invalidates everything on resync and drops pending trailing work', () => {
    const { plans, invalidator } = setup({ types: ['volumes'], throttleMs: 1000 });
    invalidator.handle({ type: 'volumes' });
    invalidator.handle({ type: 'volumes' });
    invalidator.handle({ type: 'resync', reason: 'lagged' });
    vi.advanceTimersByTime(2000);
    expect(plans.map((p) => p.kind)).toEqual(['paths', 'all']);
  });

  it('does nothing after dispose', () => {
    const { plans, invalidator } = setup({ throttleMs: 1000 });
    invalidator.handle({ type: 'volumes' });
    invalidator.handle({ type: 'volumes' });
    invalidator.dispose();
    invalidator.handle({ type: 'projects' });
    vi.advanceTimersByTime(2000);
    expect(plans).toHaveLength(1);
  });

  it('cancel() drops pending trailing invalidations and keeps handling notices', () => {
    const { plans, invalidator } = setup({ throttleMs: 1000 });
    invalidator.handle({ type: 'volumes' });
    invalidator.handle({ type: 'volumes' });
    invalidator.cancel();
    vi.advanceTimersByTime(2000);
    expect(plans).toHaveLength(1);
    invalidator.handle({ type: 'projects' });
    expect(plans).toHaveLength(2);
  });
});
