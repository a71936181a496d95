import { describe, expect, it } from 'vitest';
import type { QueryMap } from './notice.js';
import { inScope, mergePlans, planInvalidation, queryKeyPrefix } from './planner.js';

const MAP = {
  projects: ['projects.getAll'],
  volumes: ['volumes.getAll', 'projects.getQuotas'],
  images: [],
} as const;

describe('planInvalidation', () => {
  it('maps a notice to the query paths of its type, in its scope', () => {
    const plan = planInvalidation({ type: 'volumes', scope: 'p1' }, MAP);
    expect(plan).toEqual({
      kind: 'paths',
      paths: ['volumes.getAll', 'projects.getQuotas'],
      scopes: new Set(['p1']),
    });
  });

  it('leaves a global notice unscoped', () => {
    expect(planInvalidation({ type: 'projects' }, MAP)).toMatchObject({ scopes: null });
    expect(planInvalidation({ type: 'projects', scope: null }, MAP)).toMatchObject({
      scopes: null,
    });
  });

  it('plans everything on resync, whatever the filter', () => {
    expect(
      planInvalidation<keyof typeof MAP>(
        { type: 'resync', reason: 'gap' },
        MAP,
        new Set(['images']),
      ),
    ).toEqual({
      kind: 'all',
    });
  });

  it('plans nothing for filtered-out, unmapped and unknown types', () => {
    const nothing = { kind: 'paths', paths: [], scopes: null };
    expect(planInvalidation({ type: 'volumes' }, MAP, new Set(['projects'] as const))).toEqual(
      nothing,
    );
    expect(planInvalidation({ type: 'images' }, MAP)).toEqual(nothing);
    expect(planInvalidation<string>({ type: 'toString' }, MAP as QueryMap)).toEqual(nothing);
  });
});

describe('mergePlans', () => {
  const a = planInvalidation({ type: 'volumes', scope: 'p1' }, MAP);
  const b = planInvalidation({ type: 'projects', scope: 'p2' }, MAP);

  it('unites paths and scopes', () => {
    const merged = mergePlans(a, b);
    expect(merged).toEqual({
      kind: 'paths',
      paths: ['volumes.getAll', 'projects.getQuotas', 'projects.getAll'],
      scopes: new Set(['p1', 'p2']),
    });
  });

  it('lets an unscoped plan or everything win', () => {
    expect(mergePlans(a, planInvalidation({ type: 'volumes' }, MAP))).toMatchObject({
      scopes: null,
    });
    expect(mergePlans(a, { kind: 'all' })).toEqual({ kind: 'all' });
  });
});

describe('query keys', () => {
  it('builds the tRPC React key prefix of a path', () => {
    expect(queryKeyPrefix('compute.instances.getAll')).toEqual([
      ['compute', 'instances', 'getAll'],
    ]);
  });

  it('keeps queries of other projects out of a scoped plan', () => {
    const key = (input: unknown) => [['volumes', 'getAll'], { input, type: 'query' }];
    const scopes = new Set(['p1']);
    expect(inScope(key({ projectId: 'p1' }), scopes)).toBe(true);
    expect(inScope(key({ projectId: 'p2' }), scopes)).toBe(false);
    expect(inScope(key(undefined), scopes)).toBe(true);
    expect(inScope(key({ id: 'v1' }), scopes)).toBe(true);
    expect(inScope(key({ projectId: 'p2' }), null)).toBe(true);
  });
});
