// A Node script: logs in, keeps a TanStack QueryClient of one project's volumes current from the
// update stream, and prints the volume names (one JSON line) each time they change.
// `node build/watch.mjs <base URL> <user> <project name>`, once compiled by tsc.
import { QueryClient, QueryObserver } from '@tanstack/query-core';
import { autoRefetch, createTidingsClient, trpcQueryKey } from '@tidings/web-client/core';
import { EventSource } from 'eventsource';

const [base = 'http://127.0.0.1:8080', user = 'admin', projectName = 'demo'] =
  process.argv.slice(2);
const session: { token?: string } = {};
const tidings = createTidingsClient({
  url: `${base}/trpc`,
  headers: () => (session.token ? { authorization: `Bearer ${session.token}` } : {}),
  EventSource,
});
const login = await tidings.trpcClient.auth.login.mutate({ username: user, password: user });
session.token = login.token;

const projects = await tidings.trpcClient.projects.getAll.query();
const project = projects.find((p) => p.name === projectName);
if (!project) throw new Error(`no project ${projectName}`);
const projectId = project.id;

const queryClient = new QueryClient();
const volumes = new QueryObserver(queryClient, {
  queryKey: trpcQueryKey('volumes.getAll', { projectId }),
  queryFn: () => tidings.trpcClient.volumes.getAll.query({ projectId }),
});
let printed = '';
volumes.subscribe(({ data }) => {
  if (!data) return;
  const line = JSON.stringify({ volumes: data.map((v) => v.name ?? v.id) });
  if (line !== printed) console.log((printed = line));
});
autoRefetch(queryClient, tidings, 'volumes');
tidings.hub.subscribeState(() => {
  const { status } = tidings.hub.getState();
  console.log(JSON.stringify({ stream: status }));
});
