// The console: a header with the connection indicator and the project picker, the project's
// resources, and the notices as they arrive. The one update stream is opened here.
import { useCallback, useEffect, useState } from 'react';
import { trpc, useAutoRefetch, useSSEUpdates, type Notice, type UpdateType } from '../../src';
import { ConnectionBadge } from './ConnectionBadge';
import { Images } from './panels/Images';
import { Instances } from './panels/Instances';
import { Networks } from './panels/Networks';
import { NoticeLog, type LoggedNotice } from './panels/NoticeLog';
import { Volumes } from './panels/Volumes';

const MAX_NOTICES = 50;

export function App() {
  const [notices, setNotices] = useState<LoggedNotice[]>([]);
  const onNotice = useCallback((notice: Notice<UpdateType>, id: string | undefined) => {
    const entry = { notice, id, at: new Date() };
    setNotices((list) => [entry, ...list].slice(0, MAX_NOTICES));
  }, []);
  const stream = useSSEUpdates({ onNotice });

  useEffect(() => {
    // For people and end-to-end tests: who holds the stream in this browser.
    document.documentElement.dataset.stream = `${stream.status} ${stream.role}`;
  }, [stream.status, stream.role]);

  const projects = trpc.projects.getAll.useQuery();
  useAutoRefetch('projects');
  const [projectId, setProjectId] = useProjectFromHash();
  const selected = projects.data?.find((p) => p.id === projectId) ?? projects.data?.[0];

  return (
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
      </header>

      {projects.error && <p className="error banner">Projects: {projects.error.message}</p>}

      <main className="layout">
        {selected ? (
          <div className="panels">
            <p className="project-line">
              <strong>{selected.name}</strong>
              {selected.description && <span className="muted"> · {selected.description}</span>}
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
        <NoticeLog
          notices={notices}
          projectNames={new Map(projects.data?.map((p) => [p.id, p.name]))}
        />
      </main>
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
