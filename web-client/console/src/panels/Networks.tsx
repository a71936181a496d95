// Networks of the project.
import { useQuery } from '@tanstack/react-query';
import { useAutoRefetch } from '@tidings/web-client';
import { useTRPC } from '../trpc';
import { Empty, Panel, StatusPill } from '../ui';

export function Networks({ projectId }: { projectId: string }) {
  const trpc = useTRPC();
  const networks = useQuery(trpc.networks.getAll.queryOptions({ projectId }));
  useAutoRefetch('networks');
  return (
    <Panel
      title="Networks"
      count={networks.data?.length}
      loading={networks.isPending}
      error={networks.error}
      testId="networks"
    >
      {networks.data?.length === 0 ? (
        <Empty>No networks.</Empty>
      ) : (
        <ul className="rows">
          {networks.data?.map((network) => (
            <li key={network.id}>
              <span className="name">{network.name || network.id.slice(0, 8)}</span>
              <span className="muted small">
                {[
                  network.shared && 'shared',
                  network.external && 'external',
                  `${network.subnetIds.length} subnet${network.subnetIds.length === 1 ? '' : 's'}`,
                ]
                  .filter(Boolean)
                  .join(' · ')}
              </span>
              <StatusPill status={network.status} />
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}
