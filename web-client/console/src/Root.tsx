// The session gate: the login screen while nobody is logged in, the console once someone is.
// The update stream is held here, on both screens, so that every tab of the browser (which
// share one session cookie and one stream) follows a login or a logout made in any of them:
// - the stream ends as `unauthorized` (logged out here or elsewhere, or expired): ask the
//   server who is logged in; nobody → the login screen;
// - a query or mutation answers UNAUTHORIZED: the same;
// - someone logs in (here, or the stream reopens after a login elsewhere): the console, and
//   the stream is reopened if it had ended.
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { isUnauthorized, useSSEUpdates, useTidings, type StreamState } from '@tidings/web-client';
import { App } from './App';
import { Login } from './Login';
import { recheckSession, useSession } from './session';

export function Root() {
  const { hub } = useTidings();
  const queryClient = useQueryClient();
  const session = useSession();
  const me = session.data;
  const signedIn = me !== undefined && me !== null;

  const previous = useRef<StreamState['status'] | null>(null);
  // useSSEUpdates reads its callbacks as of the last commit, so `signedIn` here is current.
  const stream = useSSEUpdates({
    onStateChange(state) {
      const was = previous.current;
      previous.current = state.status;
      if (state.status === was) return;
      if (state.status === 'unauthorized') recheckSession(queryClient);
      // Opened while this tab shows the login screen: another tab has logged in.
      else if (state.status === 'open' && !signedIn) recheckSession(queryClient);
    },
  });

  useEffect(() => {
    // For people and end-to-end tests: who holds the stream in this browser.
    document.documentElement.dataset.stream = `${stream.status} ${stream.role}`;
  }, [stream.status, stream.role]);

  // Any call refused for want of a session: check whether there still is one.
  useEffect(() => {
    const onError = (error: unknown) => {
      if (isUnauthorized(error)) recheckSession(queryClient);
    };
    const offQueries = queryClient.getQueryCache().subscribe((event) => {
      if (event.type === 'updated' && event.action.type === 'error') onError(event.action.error);
    });
    const offMutations = queryClient.getMutationCache().subscribe((event) => {
      if (event.type === 'updated' && event.action.type === 'error') onError(event.action.error);
    });
    return () => {
      offQueries();
      offMutations();
    };
  }, [queryClient]);

  // Logged in (or found logged in): the stream may have ended without a session; reopen it.
  // Once per user, so a server that refuses the stream anyway is not asked in a loop.
  const userId = signedIn ? me.userId : null;
  useEffect(() => {
    if (userId !== null) hub.reconnect();
  }, [userId, hub]);

  const userName = signedIn ? me.userName : me === null ? '' : null;
  useEffect(() => {
    // For end-to-end tests: who this tab shows as logged in ("" nobody, absent: not known yet).
    if (userName === null) delete document.documentElement.dataset.user;
    else document.documentElement.dataset.user = userName;
  }, [userName]);

  if (signedIn) return <App key={me.userId} me={me} />;
  if (me === null) return <Login />;
  if (session.error) {
    return (
      <div className="center">
        <div className="card login">
          <p className="error">Cannot reach the server: {session.error.message}</p>
          <button onClick={() => void session.refetch()}>Try again</button>
        </div>
      </div>
    );
  }
  return (
    <div className="center">
      <p className="muted">Loading…</p>
    </div>
  );
}
