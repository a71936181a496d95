// Typed errors: input validation and unknown procedures, as TRPCClientError values.

import assert from 'node:assert/strict';

import { expectTRPCError, makeClient, recordingFetch, seededProject, uniqueName } from '../lib/client.mjs';
import { useServer } from '../lib/server.mjs';

const srv = useServer();

srv.test('volumes.create with sizeGb "big" is BAD_REQUEST 400 naming sizeGb', async () => {
  const http = recordingFetch();
  const client = makeClient(srv.trpcUrl, { token: srv.token, fetch: http.fetch });
  const demo = await seededProject(client, 'demo');

  const error = await expectTRPCError(
    client.volumes.create.mutate({ projectId: demo.id, name: uniqueName('conf-bad'), sizeGb: 'big' }),
    { code: 'BAD_REQUEST', httpStatus: 400, path: 'volumes.create' },
  );
  assert.match(error.message, /sizeGb/);
  assert.equal(http.requests.at(-1).status, 400);
});

for (const sizeGb of [0, -1, 1.5, null]) {
  srv.test(`volumes.create with sizeGb ${JSON.stringify(sizeGb)} is BAD_REQUEST naming sizeGb`, async () => {
    const client = makeClient(srv.trpcUrl, { token: srv.token });
    const demo = await seededProject(client, 'demo');
    const error = await expectTRPCError(
      client.volumes.create.mutate({ projectId: demo.id, name: uniqueName('conf-bad'), sizeGb }),
      { code: 'BAD_REQUEST', httpStatus: 400, path: 'volumes.create' },
    );
    assert.match(error.message, /sizeGb/);
  });
}

srv.test('a rejected volumes.create creates nothing', async () => {
  const client = makeClient(srv.trpcUrl, { token: srv.token });
  const demo = await seededProject(client, 'demo');
  const name = uniqueName('conf-rejected');
  await expectTRPCError(client.volumes.create.mutate({ projectId: demo.id, name, sizeGb: 'big' }), {
    code: 'BAD_REQUEST',
    httpStatus: 400,
  });
  await new Promise((resolve) => setTimeout(resolve, 400));
  const volumes = await client.volumes.getAll.query();
  assert.deepEqual(volumes.filter((v) => v.name === name), []);
});

srv.test('projects.getById without an id is BAD_REQUEST naming id', async () => {
  const client = makeClient(srv.trpcUrl, { token: srv.token });
  const error = await expectTRPCError(client.projects.getById.query({}), {
    code: 'BAD_REQUEST',
    httpStatus: 400,
    path: 'projects.getById',
  });
  assert.match(error.message, /\bid\b/);
});

srv.test('an unknown procedure is NOT_FOUND 404 with its path, for queries and mutations', async () => {
  const client = makeClient(srv.trpcUrl, { token: srv.token });
  await expectTRPCError(client.nope.nothing.query(), { code: 'NOT_FOUND', httpStatus: 404, path: 'nope.nothing' });
  await expectTRPCError(client.volumes.explode.mutate({ id: 'x' }), {
    code: 'NOT_FOUND',
    httpStatus: 404,
    path: 'volumes.explode',
  });
});

srv.test('an unknown procedure in a batch fails only its own call', async () => {
  const http = recordingFetch();
  const client = makeClient(srv.trpcUrl, { token: srv.token, fetch: http.fetch });
  const [projects, missing] = await Promise.allSettled([client.projects.getAll.query(), client.nope.nothing.query()]);
  assert.equal(http.requests.length, 1);
  assert.equal(http.requests[0].status, 207);
  assert.equal(projects.status, 'fulfilled', String(projects.reason));
  assert.ok(Array.isArray(projects.value));
  await expectTRPCError(Promise.reject(missing.reason), { code: 'NOT_FOUND', httpStatus: 404, path: 'nope.nothing' });
});
