// The seed's usage: the stream held once at the root, each list following its update type.
import { skipToken } from '@tanstack/react-query';
import { useAutoRefetch, useSSEUpdates } from '@tidings/web-client';
import { Page } from './Page';
import { trpc } from './trpc';

export function App() {
  const { status } = useSSEUpdates();
  const projects = trpc.projects.getAll.useQuery();
  useAutoRefetch('projects');
  const projectId = (projects.data?.find((p) => p.name === 'demo') ?? projects.data?.[0])?.id;
  const volumes = trpc.volumes.getAll.useQuery(projectId ? { projectId } : skipToken);
  useAutoRefetch('volumes');
  const create = trpc.volumes.create.useMutation();
  return (
    <Page
      status={status}
      projects={projects.data?.map((p) => p.name)}
      volumes={volumes.data?.map((v) => v.name ?? v.id)}
      onCreate={(name) => projectId && create.mutate({ projectId, name, sizeGb: 1 })}
    />
  );
}
