// Small shared pieces of the console: a panel frame, status pills, progress bars, errors.
import { createContext, useContext, type ReactNode } from 'react';
import { isForbidden, isUnauthorized } from '@tidings/web-client';

/** Project names by id, so that messages can name projects rather than quote ids. */
export const ProjectNames = createContext<ReadonlyMap<string, string>>(new Map());

/**
 * An error as a person reads it: a refusal says so plainly ("Not allowed: your role on project
 * demo does not allow changes"), project ids become names.
 */
export function errorText(
  error: { message: string },
  projectNames: ReadonlyMap<string, string> = new Map(),
): string {
  let message = error.message;
  for (const [id, name] of projectNames) message = message.split(id).join(name);
  if (isForbidden(error)) return `Not allowed: ${message}`;
  if (isUnauthorized(error)) return `Not logged in: ${message}`;
  return message;
}

/** An error message, or nothing without an error. */
export function ErrorText(props: {
  error: { message: string } | null | undefined;
  inline?: boolean;
}) {
  const names = useContext(ProjectNames);
  if (!props.error) return null;
  return (
    <span className={props.inline ? 'error inline' : 'error'} role="alert">
      {errorText(props.error, names)}
    </span>
  );
}

export function Panel(props: {
  title: string;
  count?: number;
  loading?: boolean;
  error?: { message: string } | null;
  actions?: ReactNode;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <section className="panel" data-testid={props.testId}>
      <header className="panel-head">
        <h2>
          {props.title}
          {props.count !== undefined && <span className="count">{props.count}</span>}
        </h2>
        {props.loading && <span className="muted small">loading…</span>}
      </header>
      {props.error && (
        <p>
          <ErrorText error={props.error} />
        </p>
      )}
      {props.actions && <div className="panel-actions">{props.actions}</div>}
      {props.children}
    </section>
  );
}

const TONES: Record<string, string> = {
  active: 'ok',
  available: 'ok',
  'in-use': 'info',
  build: 'busy',
  building: 'busy',
  creating: 'busy',
  attaching: 'busy',
  detaching: 'busy',
  deleting: 'busy',
  queued: 'busy',
  saving: 'busy',
  uploading: 'busy',
  error: 'bad',
  shutoff: 'idle',
  stopped: 'idle',
  down: 'bad',
};

export function StatusPill({ status }: { status: string }) {
  const tone = TONES[status.toLowerCase()] ?? 'idle';
  return <span className={`pill pill-${tone}`}>{status.toLowerCase()}</span>;
}

export function ProgressBar({ value, label }: { value: number; label?: string }) {
  const pct = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div
      className="progress"
      role="progressbar"
      aria-valuenow={pct}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-label={label}
    >
      <div className="progress-fill" style={{ width: `${pct}%` }} />
      <span className="progress-text">{pct}%</span>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
