// httpBatchLink: batched queries, per-call errors inside a batch, a batched mutation.

import assert from 'node:assert/strict';

import { eventually, expectTRPCError, makeClient, recordingFetch, seededProject, uniqueName } from '../lib/client.mjs';
import { useServer } from '../lib/server.mjs';

const srv = useServer();

srv.test('three queries issued together travel as one batched GET and all resolve', async () => {
  const http = recordingFetch();
  const client = makeClient(srv.trpcUrl, { token: srv.token, fetch: http.fetch });

  const [projects, volumes, images] = await Promise.all([
    client.projects.getAll.query(),
    client.volumes.getAll.query(),
    client.images.getAll.query(),
  ]);

  assert.equal(http.requests.length, 1, `requests: ${http.requests.map((r) => r.url.href).join(', ')}`);
  const [request] = http.requests;
  assert.equal(request.method, 'GET');
  assert.equal(request.url.pathname, '/trpc/projects.getAll,volumes.getAll,images.getAll');
  assert.equal(request.url.searchParams.get('batch'), '1');
  assert.equal(request.status, 200);

  assert.ok(Array.isArray(projects), 'projects.getAll returns an array');
  assert.ok(Array.isArray(volumes), 'volumes.getAll returns an array');
  assert.ok(Array.isArray(images), 'images.getAll returns an array');
  const names = projects.map((p) => p.name);
  for (const seeded of ['admin', 'demo', 'ops']) assert.ok(names.includes(seeded), `${seeded} in ${names}`);
  for (const project of projects) assert.equal(typeof project.id, 'string');
  assert.equal(new Set(projects.map((p) => p.id)).size, projects.length, 'project ids are unique');
  for (const list of [volumes, images]) {
    for (const item of list) assert.equal(typeof item.id, 'string', JSON.stringify(item));
  }
});

srv.test('projects.getById finds a real project and answers NOT_FOUND for "nope"', async () => {
  const client = makeClient(srv.trpcUrl, { token: srv.token });
  const demo = await seededProject(client, 'demo');

  const found = await client.projects.getById.query({ id: demo.id });
  assert.equal(found.id, demo.id);
  assert.equal(found.name, 'demo');

  const error = await expectTRPCError(client.projects.getById.query({ id: 'nope' }), {
    code: 'NOT_FOUND',
    httpStatus: 404,
    path: 'projects.getById',
  });
  assert.notEqual(error.message, '');
});

srv.test('a batch mixing a hit and a miss is one 207 response with one result per call', async () => {
  const http = recordingFetch();
  const client = makeClient(srv.trpcUrl, { token: srv.token, fetch: http.fetch });
  const ops = await seededProject(makeClient(srv.trpcUrl, { token: srv.token }), 'ops');

  const [hit, miss] = await Promise.allSettled([
    client.projects.getById.query({ id: ops.id }),
    client.projects.getById.query({ id: 'nope' }),
  ]);

  assert.equal(http.requests.length, 1);
  const [request] = http.requests;
  assert.equal(request.url.pathname, '/trpc/projects.getById,projects.getById');
  assert.deepEqual(JSON.parse(request.url.searchParams.get('input')), { 0: { id: ops.id }, 1: { id: 'nope' } });
  assert.equal(request.status, 207);
  assert.equal(hit.status, 'fulfilled', String(hit.reason));
  assert.equal(hit.value.id, ops.id);
  assert.equal(miss.status, 'rejected');
  await expectTRPCError(Promise.reject(miss.reason), { code: 'NOT_FOUND', httpStatus: 404, path: 'projects.getById' });
});

srv.test('volumes.create returns the volume and volumes.getAll then lists it', async () => {
  const http = recordingFetch();
  const client = makeClient(srv.trpcUrl, { token: srv.token, fetch: http.fetch });
  const demo = await seededProject(client, 'demo');
  const name = uniqueName('conf-batch');
  http.requests.length = 0;

  const volume = await client.volumes.create.mutate({ projectId: demo.id, name, sizeGb: 2 });

  assert.equal(http.requests.length, 1);
  const [request] = http.requests;
  assert.equal(request.method, 'POST');
  assert.equal(request.url.pathname, '/trpc/volumes.create');
  assert.equal(request.url.searchParams.get('batch'), '1');
  assert.deepEqual(JSON.parse(request.body), { 0: { projectId: demo.id, name, sizeGb: 2 } });
  assert.equal(request.status, 200);

  assert.equal(typeof volume.id, 'string');
  assert.notEqual(volume.id, '');
  assert.equal(volume.name, name);
  assert.equal(volume.sizeGb, 2);
  assert.equal(volume.projectId, demo.id);
  assert.equal(typeof volume.status, 'string');

  const listed = await eventually(
    async () => (await client.volumes.getAll.query({ projectId: demo.id })).find((v) => v.id === volume.id),
    { timeoutMs: 5_000, what: `volume ${volume.id} listed by volumes.getAll({projectId})` },
  );
  assert.equal(listed.name, name);
  assert.equal(listed.sizeGb, 2);
  assert.equal(listed.projectId, demo.id);

  const inDemo = await client.volumes.getAll.query({ projectId: demo.id });
  for (const v of inDemo) assert.equal(v.projectId, demo.id, `volumes.getAll({projectId}) leaked ${JSON.stringify(v)}`);
  const everywhere = await client.volumes.getAll.query();
  assert.ok(everywhere.some((v) => v.id === volume.id), 'volumes.getAll() without input lists it too');
});

srv.test('networks and compute instances list, and a projectId filter narrows the list', async () => {
  const client = makeClient(srv.trpcUrl, { token: srv.token });
  const demo = await seededProject(client, 'demo');

  const [networks, instances, demoInstances, noInstances, noVolumes] = await Promise.all([
    client.networks.getAll.query(),
    client.compute.instances.getAll.query(),
    client.compute.instances.getAll.query({ projectId: demo.id }),
    client.compute.instances.getAll.query({ projectId: 'nope' }),
    client.volumes.getAll.query({ projectId: 'nope' }),
  ]);

  for (const list of [networks, instances, demoInstances]) {
    assert.ok(Array.isArray(list));
    for (const item of list) assert.equal(typeof item.id, 'string', JSON.stringify(item));
  }
  const all = new Set(instances.map((i) => i.id));
  for (const instance of demoInstances) assert.ok(all.has(instance.id), `${instance.id} is in the unfiltered list`);
  assert.deepEqual(noInstances, []);
  assert.deepEqual(noVolumes, []);
});
