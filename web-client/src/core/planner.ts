/**
 * The invalidation planner: which queries a notice makes stale, as dotted path prefixes taken
 * from UPDATE_QUERY_MAP (a resync makes everything stale). Pure; the caller applies the plan.
 */
import { isResync, type Notice, type QueryMap } from './notice.js';

/** What to invalidate: every query, or the queries under these paths, optionally in a scope. */
export type InvalidationPlan =
  | { kind: 'all' }
  | {
      kind: 'paths';
      /** Dotted query paths; each covers every input of that query. */
      paths: readonly string[];
      /**
       * The projects the change is confined to; `null` when it is not confined (a global
       * change, or a mix of global and scoped ones).
       */
      scopes: ReadonlySet<string> | null;
    };

/** Nothing to invalidate. */
export const NOTHING: InvalidationPlan = Object.freeze({
  kind: 'paths',
  paths: Object.freeze([]),
  scopes: null,
});

/**
 * The plan for one notice. `only` restricts the update types considered (a component that
 * displays volumes listens to `volumes` only); a resync always plans everything. Unknown
 * types (a newer server) plan nothing.
 */
export function planInvalidation<T extends string>(
  notice: Notice<T>,
  map: QueryMap<T>,
  only?: ReadonlySet<T>,
): InvalidationPlan {
  if (isResync(notice)) return { kind: 'all' };
  const type = notice.type as T;
  if (only && !only.has(type)) return NOTHING;
  const paths = Object.prototype.hasOwnProperty.call(map, type) ? map[type] : undefined;
  if (!paths || paths.length === 0) return NOTHING;
  const scopes = notice.scope ? new Set([notice.scope]) : null;
  return { kind: 'paths', paths, scopes };
}

/** Two plans as one: the union of their paths, and of their scopes (`null` wins). */
export function mergePlans(a: InvalidationPlan, b: InvalidationPlan): InvalidationPlan {
  if (a.kind === 'all' || b.kind === 'all') return { kind: 'all' };
  if (a.paths.length === 0) return b;
  if (b.paths.length === 0) return a;
  const paths = [...new Set([...a.paths, ...b.paths])];
  const scopes = a.scopes && b.scopes ? new Set([...a.scopes, ...b.scopes]) : null;
  return { kind: 'paths', paths, scopes };
}

/** Whether a plan invalidates nothing. */
export function isEmptyPlan(plan: InvalidationPlan): boolean {
  return plan.kind === 'paths' && plan.paths.length === 0;
}

/**
 * The query key prefix of a dotted path as tRPC's React integrations build keys
 * (`[path.split('.'), { input, type }]`): `[['volumes', 'getAll']]`, which matches every input.
 * It is what `trpc.volumes.getAll.pathFilter()` (`@trpc/tanstack-react-query`) and
 * `getQueryKey(trpc.volumes.getAll)` (`@trpc/react-query`) give.
 */
export function queryKeyPrefix(path: string): [string[]] {
  return [path.split('.')];
}

/**
 * The query key tRPC's React integrations give the query at `path` with `input`
 * (`trpc.volumes.getAll.queryKey(input)`), for caches filled without them, e.g. by a
 * `QueryObserver` over `trpcClient.volumes.getAll.query(input)`.
 */
export function trpcQueryKey(
  path: string,
  input?: unknown,
): [string[], { input?: unknown; type: 'query' }] {
  return [path.split('.'), input === undefined ? { type: 'query' } : { input, type: 'query' }];
}

/**
 * Whether a query with this tRPC key is in a plan's scope: queries filtered to another
 * project (`input.projectId`) are left alone; unfiltered ones always match.
 */
export function inScope(queryKey: readonly unknown[], scopes: ReadonlySet<string> | null): boolean {
  if (!scopes) return true;
  const meta = queryKey[1] as { input?: unknown } | undefined;
  const input = meta?.input as { projectId?: unknown } | null | undefined;
  const project = input && typeof input === 'object' ? input.projectId : undefined;
  return typeof project !== 'string' || scopes.has(project);
}
