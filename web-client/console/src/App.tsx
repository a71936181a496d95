// The console: a header with the project picker, the connection indicator and who is logged in,
// the project's resources, and the notices as they arrive. Shown once someone is logged in
// (see Root); the update stream it listens to is held there.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useAutoRefetch, useSSEUpdates, type Notice, type UpdateType } from '@tidings/web-client';
import { useTRPC } from './trpc';
import { ConnectionBadge } from './ConnectionBadge';
import { Images } from './panels/Images';
import { Instances } from './panels/Instances';
import { Networks } from './panels/Networks';
import { NoticeLog, type LoggedNotice } from './panels/NoticeLog';
import { Volumes } from './panels/Volumes';
import { setSession, type Me } from './session';
import { ErrorText, ProjectNames } from './ui';

const MAX_NOTICES = 50;

export function App({ me }: { me: Me }) {
  const trpc = useTRPC();
  const [notices, setNotices] = useState<LoggedNotice[]>([]);
  const onNotice = useCallback((notice: Notice<UpdateType>, id: string | undefined) => {
    const entry = { notice, id, at: new Date() };
    setNotices((list) => [entry, ...list].slice(0, MAX_NOTICES));
  }, []);
  const stream = useSSEUpdates({ onNotice });

  const projects = useQuery(trpc.projects.getAll.queryOptions());
  useAutoRefetch('projects');
  const [projectId, setProjectId] = useProjectFromHash();
  const selected = projects.data?.find((p) => p.id === projectId) ?? projects.data?.[0];
  const projectNames = useMemo(
    () => new Map([...me.projects, ...(projects.data ?? [])].map((p) => [p.id, p.name])),
    [me.projects, projects.data],
  );
  const roles = me.projects.find((p) => p.id === selected?.id)?.roles;

  return (
    <ProjectNames.Provider value={projectNames}>
      <div className="app">
        <header className="topbar">
          <div className="brand">
            <span className="logo" aria-hidden />
            <span>Tidings</span>
            <span className="muted">cloud console</span>
          </div>
          <label className="picker">
            <span>Project</span>
            <select
              aria-label="Project"
              value={selected?.id ?? ''}
              onChange={(e) => setProjectId(e.target.value)}
              disabled={!projects.data}
            >
              {projects.data?.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <ConnectionBadge state={stream} />
          <UserMenu me={me} />
        </header>

        {projects.error && (
          <p className="error banner">
            Projects: <ErrorText error={projects.error} />
          </p>
        )}

        <main className="layout">
          {selected ? (
            <div className="panels">
              <p className="project-line">
                <strong>{selected.name}</strong>
                {selected.description && <span className="muted"> · {selected.description}</span>}
                {roles && (
                  <span className="muted small" data-testid="project-roles">
                    {' '}
                    · your role: {roles.join(', ') || 'none'}
                  </span>
                )}
              </p>
              <Instances projectId={selected.id} />
              <Volumes projectId={selected.id} />
              <div className="two">
                <Images projectId={selected.id} />
                <Networks projectId={selected.id} />
              </div>
            </div>
          ) : (
            <div className="panels">
              <p className="muted">{projects.isPending ? 'Loading projects…' : 'No project.'}</p>
            </div>
          )}
          <NoticeLog notices={notices} projectNames={projectNames} />
        </main>
      </div>
    </ProjectNames.Provider>
  );
}

/** Who is logged in (name, projects and roles) and the way out. */
function UserMenu({ me }: { me: Me }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const logout = useMutation(
    trpc.auth.logout.mutationOptions({
      onSuccess: () => setSession(queryClient, null),
    }),
  );
  const access = me.projects.map((p) => `${p.name}: ${p.roles.join(', ') || 'no role'}`);
  const summary = me.admin
    ? 'administrator'
    : me.projects.map((p) => `${p.name} (${p.roles.join(', ')})`).join(', ') || 'no project';
  return (
    <div className="user" data-testid="user">
      <div className="user-who" title={access.join('\n')}>
        <span className="user-name" data-testid="user-name">
          {me.userName}
        </span>
        <span className="muted small" data-testid="user-access">
          {summary}
        </span>
      </div>
      <button className="quiet" onClick={() => logout.mutate()} disabled={logout.isPending}>
        {logout.isPending ? 'Logging out…' : 'Log out'}
      </button>
      <ErrorText error={logout.error} inline />
    </div>
  );
}

/** The selected project, kept in the URL (`#project=<id>`) so a reload or a link keeps it. */
function useProjectFromHash(): [string | undefined, (id: string) => void] {
  const read = () => new URLSearchParams(location.hash.slice(1)).get('project') ?? undefined;
  const [id, setId] = useState(read);
  useEffect(() => {
    const onHash = () => setId(read());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const select = useCallback((next: string) => {
    history.replaceState(null, '', `#project=${encodeURIComponent(next)}`);
    setId(next);
  }, []);
  return [id, select];
}
