// The seed's usage: the stream held once at the root, each list following its update type.
import { skipToken, useMutation, useQuery } from '@tanstack/react-query';
import { useAutoRefetch, useSSEUpdates } from '@tidings/web-client';
import { Page } from './Page';
import { useTRPC } from './trpc';

export function App() {
  const trpc = useTRPC();
  const { status } = useSSEUpdates();
  const projects = useQuery(trpc.projects.getAll.queryOptions());
  useAutoRefetch('projects');
  const projectId = (projects.data?.find((p) => p.name === 'demo') ?? projects.data?.[0])?.id;
  const volumes = useQuery(trpc.volumes.getAll.queryOptions(projectId ? { projectId } : skipToken));
  useAutoRefetch('volumes');
  const create = useMutation(trpc.volumes.create.mutationOptions());
  return (
    <Page
      status={status}
      projects={projects.data?.map((p) => p.name)}
      volumes={volumes.data?.map((v) => v.name ?? v.id)}
      onCreate={(name) => projectId && create.mutate({ projectId, name, sizeGb: 1 })}
    />
  );
}
