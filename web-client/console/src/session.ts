// The session as the console sees it: `auth.me`, with "not logged in" (UNAUTHORIZED) as `null`
// rather than an error, so the login screen is a state and not a failure. The cookie that
// carries the session is HttpOnly: the console never sees the token, it only asks who it is.
import { useQuery, type QueryClient } from '@tanstack/react-query';
import { isUnauthorized, useTidings, type RouterOutputs } from '@tidings/web-client';

export type Me = RouterOutputs['auth']['me'];

/** The cache key of the session; not a tRPC key, so invalidating tRPC queries leaves it. */
export const SESSION_KEY = ['console', 'session'] as const;

/** Who is logged in: a user, `null` (nobody: show the login screen), or pending/error. */
export function useSession() {
  const { trpcClient, queryClient } = useTidings();
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: async (): Promise<Me | null> => {
      let me: Me | null;
      try {
        me = await trpcClient.auth.me.query();
      } catch (error) {
        if (!isUnauthorized(error)) throw error;
        me = null;
      }
      forgetDataOfAnother(queryClient, me);
      return me;
    },
  });
}

/** Records who is logged in now (after a login, or `null` after a logout). */
export function setSession(queryClient: QueryClient, me: Me | null): void {
  forgetDataOfAnother(queryClient, me);
  queryClient.setQueryData(SESSION_KEY, me);
}

/**
 * When the user changes (logged out, or someone else logged in), drops what was cached for the
 * previous one, before anything renders for the next.
 */
function forgetDataOfAnother(queryClient: QueryClient, me: Me | null): void {
  const before = queryClient.getQueryData<Me | null>(SESSION_KEY);
  if (before !== undefined && (before?.userId ?? null) !== (me?.userId ?? null)) {
    forgetData(queryClient);
  }
}

/** Asks the server again who is logged in. */
export function recheckSession(queryClient: QueryClient): void {
  void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
}

/** Drops every cached answer but the session: they belonged to the previous user. */
export function forgetData(queryClient: QueryClient): void {
  queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== SESSION_KEY[0] });
}
