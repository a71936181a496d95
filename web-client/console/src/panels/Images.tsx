// Images the project can use: its own, shared and public ones.
import { useQuery } from '@tanstack/react-query';
import { useAutoRefetch } from '@tidings/web-client';
import { useTRPC } from '../trpc';
import { Empty, Panel, StatusPill, formatBytes } from '../ui';

export function Images({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const images = useQuery(trpc.images.getAll.queryOptions());
  useAutoRefetch('images');
  const usable = (images.data ?? []).filter(
    (i) => i.visibility !== 'private' || i.owner === projectId,
  );
  const list = [...usable].sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id));
  return (
    <Panel
      title="Images"
      count={images.data ? usable.length : undefined}
      loading={images.isPending}
      error={images.error}
      testId="images"
    >
      {list.length === 0 && !images.isPending ? (
        <Empty>No images.</Empty>
      ) : (
        <ul className="rows">
          {list.map((image) => (
            <li key={image.id}>
              <span className="name">{image.name ?? image.id.slice(0, 8)}</span>
              <span className="muted small">
                {image.visibility} · {formatBytes(image.sizeBytes)}
              </span>
              <StatusPill status={image.status} />
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}
