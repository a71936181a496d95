// httpLink (one request per call) and the admin token on admin.notify.

import assert from 'node:assert/strict';

import { eventually, expectTRPCError, makeClient, recordUpdates, recordingFetch, seededProject, uniqueName } from '../lib/client.mjs';
import { ADMIN_TOKEN, useServer } from '../lib/server.mjs';

const srv = useServer();

srv.test('httpLink sends a query as GET /trpc/<path> and a mutation as POST', async () => {
  const http = recordingFetch();
  const client = makeClient(srv.trpcUrl, { token: srv.token, link: 'single', fetch: http.fetch });

  const projects = await client.projects.getAll.query();
  assert.ok(Array.isArray(projects));
  const admin = projects.find((p) => p.name === 'admin');
  assert.ok(admin, `admin in ${JSON.stringify(projects)}`);
  assert.equal(http.requests.length, 1);
  assert.equal(http.requests[0].method, 'GET');
  assert.equal(http.requests[0].url.pathname, '/trpc/projects.getAll');
  assert.equal(http.requests[0].url.search, '');
  assert.equal(http.requests[0].status, 200);

  const one = await client.projects.getById.query({ id: admin.id });
  assert.equal(one.id, admin.id);
  assert.equal(one.name, 'admin');
  assert.deepEqual(JSON.parse(http.requests[1].url.searchParams.get('input')), { id: admin.id });
  assert.equal(http.requests[1].url.searchParams.get('batch'), null);

  const name = uniqueName('conf-single');
  const volume = await client.volumes.create.mutate({ projectId: admin.id, name, sizeGb: 3 });
  assert.equal(volume.name, name);
  assert.equal(volume.sizeGb, 3);
  assert.equal(volume.projectId, admin.id);
  const post = http.requests[2];
  assert.equal(post.method, 'POST');
  assert.equal(post.url.pathname, '/trpc/volumes.create');
  assert.equal(post.url.search, '');
  assert.deepEqual(JSON.parse(post.body), { projectId: admin.id, name, sizeGb: 3 });
  assert.equal(post.status, 200);

});

srv.test('httpLink volumes.delete removes a volume once it has left "creating"', async () => {
  const http = recordingFetch();
  const client = makeClient(srv.trpcUrl, { token: srv.token, link: 'single', fetch: http.fetch });
  const ops = await seededProject(client, 'ops');
  const volume = await client.volumes.create.mutate({ projectId: ops.id, name: uniqueName('conf-delete'), sizeGb: 1 });
  await eventually(
    async () => (await client.volumes.getAll.query({ projectId: ops.id })).find((v) => v.id === volume.id && v.status !== 'creating'),
    { timeoutMs: 5_000, what: `volume ${volume.id} listed and no longer creating` },
  );

  http.requests.length = 0;
  await client.volumes.delete.mutate({ id: volume.id });
  assert.equal(http.requests[0].method, 'POST');
  assert.equal(http.requests[0].url.pathname, '/trpc/volumes.delete');
  assert.deepEqual(JSON.parse(http.requests[0].body), { id: volume.id });
  assert.equal(http.requests[0].status, 200);

  await eventually(
    async () => !(await client.volumes.getAll.query({ projectId: ops.id })).some((v) => v.id === volume.id),
    { timeoutMs: 5_000, what: `volume ${volume.id} gone from volumes.getAll` },
  );
});

srv.test('httpLink reports NOT_FOUND for an unknown project as a single 404', async () => {
  const http = recordingFetch();
  const client = makeClient(srv.trpcUrl, { token: srv.token, link: 'single', fetch: http.fetch });
  await expectTRPCError(client.projects.getById.query({ id: 'nope' }), {
    code: 'NOT_FOUND',
    httpStatus: 404,
    path: 'projects.getById',
  });
  assert.equal(http.requests[0].status, 404);
});

srv.test('admin.notify without the token, or with a wrong one, is UNAUTHORIZED', async () => {
  const anonymous = makeClient(srv.trpcUrl, { link: 'single' });
  await expectTRPCError(anonymous.admin.notify.mutate({ type: 'images' }), {
    code: 'UNAUTHORIZED',
    httpStatus: 401,
    path: 'admin.notify',
  });
  const wrong = makeClient(srv.trpcUrl, { link: 'single', headers: { Authorization: 'Bearer not-the-token' } });
  await expectTRPCError(wrong.admin.notify.mutate({ type: 'images' }), {
    code: 'UNAUTHORIZED',
    httpStatus: 401,
    path: 'admin.notify',
  });
});

srv.test('admin.notify with the token delivers a notice of that type to a subscriber', async () => {
  const user = makeClient(srv.trpcUrl, { token: srv.token });
  const admin = makeClient(srv.trpcUrl, { link: 'single', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  const demo = await seededProject(user, 'demo');

  const updates = recordUpdates(user);
  await updates.started();

  await admin.admin.notify.mutate({ type: 'networks', scope: demo.id });
  const notice = await updates.waitFor((e) => e.data?.type === 'networks' && e.data?.scope === demo.id, {
    timeoutMs: 1_000,
    what: `{type:"networks", scope:${JSON.stringify(demo.id)}}`,
  });
  assert.equal(typeof notice.id, 'string');

  await admin.admin.notify.mutate({ type: 'images' });
  const unscoped = await updates.waitFor((e) => e.data?.type === 'images', { timeoutMs: 1_000, what: '{type:"images"}' });
  assert.equal(unscoped.data.scope, undefined, `an unscoped notify gives an unscoped notice: ${JSON.stringify(unscoped)}`);
  assert.ok(updates.events.indexOf(unscoped) > updates.events.indexOf(notice), 'notices arrive in notify order');
});
