// The notices as they arrive: what changed, where, and the event id a reconnect resumes from.
import type { Notice, UpdateType } from '@tidings/web-client';

export type LoggedNotice = { notice: Notice<UpdateType>; id: string | undefined; at: Date };

export function NoticeLog(props: {
  notices: LoggedNotice[];
  /** Project names by id, to say where a change happened. */
  projectNames: ReadonlyMap<string, string>;
}) {
  const { notices, projectNames } = props;
  return (
    <aside className="panel notices" data-testid="notices">
      <header className="panel-head">
        <h2>
          Notices<span className="count">{notices.length}</span>
        </h2>
      </header>
      {notices.length === 0 ? (
        <p className="empty">Waiting for changes…</p>
      ) : (
        <ol className="notice-list">
          {notices.map(({ notice, id, at }, index) => (
            <li key={`${id ?? 'x'}-${index}`} className={`notice notice-${notice.type}`}>
              <span className="notice-type">{notice.type}</span>
              <span className="muted small">
                {'scope' in notice && notice.scope
                  ? `in ${projectNames.get(notice.scope) ?? notice.scope.slice(0, 8)}`
                  : 'reason' in notice && notice.reason
                    ? notice.reason
                    : 'global'}
              </span>
              <span className="notice-meta muted small">
                {id !== undefined && <span>#{id}</span>} {at.toLocaleTimeString()}
              </span>
            </li>
          ))}
        </ol>
      )}
    </aside>
  );
}
