// The connection indicator: the stream's status, and whether this tab holds it or listens to
// the tab that does.
import type { StreamState } from '@tidings/web-client';

const LABELS: Record<StreamState['status'], string> = {
  connecting: 'Connecting',
  open: 'Live',
  reconnecting: 'Reconnecting',
  closed: 'Offline',
  unauthorized: 'Signed out',
};

const ROLES: Record<StreamState['role'], string> = {
  leader: 'this tab holds the stream',
  follower: 'shared from another tab',
  solo: 'own stream',
};

export function ConnectionBadge({ state }: { state: StreamState }) {
  const title = [
    `Update stream: ${LABELS[state.status].toLowerCase()}`,
    ROLES[state.role],
    state.lastEventId ? `last event ${state.lastEventId}` : null,
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <div className={`badge badge-${state.status}`} title={title} data-testid="connection">
      <span className="dot" aria-hidden />
      <span className="badge-status">{LABELS[state.status]}</span>
      <span className="badge-role" data-testid="role">
        {state.role}
      </span>
    </div>
  );
}
