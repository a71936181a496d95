// Compiled, never run: what the compiler infers with the core alone, and what it rejects.
import type { Project, Volume } from '@tidings/bindings';
import { exactly } from './exactly';
import { QueryClient } from '@tanstack/query-core';
import { autoRefetch, createTidingsClient, type RouterInputs } from '@tidings/web-client/core';

export async function inference() {
  const tidings = createTidingsClient({ url: '/trpc' });
  const stop = autoRefetch(new QueryClient(), tidings, 'projects');
  exactly<() => void>()(stop);
  // @ts-expect-error: not an update type
  autoRefetch(new QueryClient(), tidings, 'project');

  exactly<Project[]>()(await tidings.trpcClient.projects.getAll.query());
  exactly<Volume[]>()(await tidings.trpcClient.volumes.getAll.query({ projectId: 'p' }));
  // @ts-expect-error: projectId is a string
  await tidings.trpcClient.volumes.getAll.query({ projectId: 1 });
  exactly<RouterInputs['volumes']['create']>()(
    null! as Parameters<typeof tidings.trpcClient.volumes.create.mutate>[0],
  );
}
