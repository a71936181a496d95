// No React: the framework-free core keeps a TanStack QueryClient current, and the page renders
// what its observer sees.
import { QueryClient, QueryObserver } from '@tanstack/query-core';
import { autoRefetch, createTidingsClient, trpcQueryKey } from '@tidings/web-client/core';

const tidings = createTidingsClient({ url: '/trpc' });
const queryClient = new QueryClient();
autoRefetch(queryClient, tidings, ['projects', 'volumes']);
tidings.hub.subscribeState(() => {
  document.body.dataset.stream = tidings.hub.getState().status;
});

const root = document.getElementById('root')!;
const projects = await tidings.trpcClient.projects.getAll.query();
const project = projects.find((p) => p.name === 'demo') ?? projects[0]!;
const projectId = project.id;

const form = document.createElement('form');
form.ariaLabel = 'Create volume';
const name = document.createElement('input');
name.ariaLabel = 'Volume name';
const create = document.createElement('button');
create.type = 'submit';
create.textContent = 'Create volume';
const list = document.createElement('ul');
list.ariaLabel = 'Volumes';
form.append(name, create);
root.append(form, list);

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void tidings.trpcClient.volumes.create.mutate({ projectId, name: name.value, sizeGb: 1 });
});

const volumes = new QueryObserver(queryClient, {
  queryKey: trpcQueryKey('volumes.getAll', { projectId }),
  queryFn: () => tidings.trpcClient.volumes.getAll.query({ projectId }),
});
volumes.subscribe(({ data }) => {
  list.replaceChildren(
    ...(data ?? []).map((volume) => {
      const item = document.createElement('li');
      item.textContent = volume.name ?? volume.id;
      return item;
    }),
  );
});
