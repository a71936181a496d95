/**
 * Applies an invalidation plan to TanStack Query: each path is a tRPC key prefix, so one call
 * covers every input of a query; only active queries refetch, and a refetch already in flight
 * is kept rather than cancelled (several hooks may ask for the same one).
 */
import type { QueryClient } from '@tanstack/react-query';
import { inScope, queryKeyPrefix, type InvalidationPlan } from '../core/planner';

/** Invalidates what `plan` names in `queryClient`. */
export function invalidatePlan(queryClient: QueryClient, plan: InvalidationPlan): void {
  if (plan.kind === 'all') {
    void queryClient.invalidateQueries({ refetchType: 'active' }, { cancelRefetch: false });
    return;
  }
  const { scopes } = plan;
  for (const path of plan.paths) {
    void queryClient.invalidateQueries(
      {
        queryKey: queryKeyPrefix(path),
        refetchType: 'active',
        ...(scopes ? { predicate: (query) => inScope(query.queryKey, scopes) } : {}),
      },
      { cancelRefetch: false },
    );
  }
}
