// Compiled, never run: what the compiler infers in this app, and what it rejects.
import type { Project, Volume } from '@tidings/bindings';
import { exactly } from './exactly';
import { useAutoRefetch, type RouterInputs } from '@tidings/web-client';
import { trpc } from './trpc';

export function useInference() {
  useAutoRefetch('projects');
  useAutoRefetch(['volumes', 'compute']);
  // @ts-expect-error: not an update type
  useAutoRefetch('project');

  const projects = trpc.projects.getAll.useQuery();
  exactly<Project[] | undefined>()(projects.data);
  const volumes = trpc.volumes.getAll.useQuery({ projectId: 'p' });
  exactly<Volume[] | undefined>()(volumes.data);
  // @ts-expect-error: projectId is a string
  trpc.volumes.getAll.useQuery({ projectId: 1 });
  const create = trpc.volumes.create.useMutation();
  exactly<RouterInputs['volumes']['create']>()(null! as Parameters<typeof create.mutate>[0]);
  // @ts-expect-error: sizeGb is missing
  create.mutate({ projectId: 'p', name: 'v' });
}
