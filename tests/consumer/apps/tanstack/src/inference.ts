// Compiled, never run: what the compiler infers in this app, and what it rejects.
import type { Project, Volume } from '@tidings/bindings';
import { exactly } from './exactly';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { queryKeyPrefix, useAutoRefetch, type RouterInputs } from '@tidings/web-client';
import { useTRPC } from './trpc';

export function useInference() {
  useAutoRefetch('projects');
  useAutoRefetch(['volumes', 'compute']);
  // @ts-expect-error: not an update type
  useAutoRefetch('project');

  const trpc = useTRPC();
  const projects = useQuery(trpc.projects.getAll.queryOptions());
  exactly<Project[] | undefined>()(projects.data);
  const volumes = useQuery(trpc.volumes.getAll.queryOptions({ projectId: 'p' }));
  exactly<Volume[] | undefined>()(volumes.data);
  // @ts-expect-error: projectId is a string
  trpc.volumes.getAll.queryOptions({ projectId: 1 });
  const create = useMutation(trpc.volumes.create.mutationOptions());
  exactly<RouterInputs['volumes']['create']>()(null! as Parameters<typeof create.mutate>[0]);
  // @ts-expect-error: sizeGb is missing
  create.mutate({ projectId: 'p', name: 'v' });

  // The keys the hooks invalidate by are tRPC's own.
  const queryClient = useQueryClient();
  void queryClient.invalidateQueries(trpc.volumes.getAll.pathFilter());
  void queryClient.invalidateQueries({ queryKey: queryKeyPrefix('volumes.getAll') });
}
