// httpBatchStreamLink: batched calls answered as JSONL, each call settling on its own line
// (in completion order), with per-call errors inside a 200 stream.

import assert from 'node:assert/strict';

import {
  expectTRPCError,
  makeStreamClient,
  recordingFetch,
  seededProject,
  sessionHeaders,
  uniqueName,
} from '../lib/client.mjs';
import { useServer } from '../lib/server.mjs';

const srv = useServer();

srv.test('queries batched in one JSONL request, one of them failing, each settle with their own result', async () => {
  const http = recordingFetch();
  const client = makeStreamClient(srv.trpcUrl, { token: srv.token, fetch: http.fetch });

  const [projects, missing, volumes, images] = await Promise.allSettled([
    client.projects.getAll.query(),
    client.projects.getById.query({ id: 'does-not-exist' }),
    client.volumes.getAll.query(),
    client.images.getAll.query(),
  ]);
  assert.equal(projects.status, 'fulfilled');
  assert.ok(Array.isArray(projects.value) && projects.value.length > 0);
  assert.equal(volumes.status, 'fulfilled');
  assert.ok(Array.isArray(volumes.value));
  assert.equal(images.status, 'fulfilled');
  assert.ok(Array.isArray(images.value));
  assert.equal(missing.status, 'rejected');
  await expectTRPCError(Promise.reject(missing.reason), {
    code: 'NOT_FOUND',
    httpStatus: 404,
    path: 'projects.getById',
  });

  assert.equal(http.requests.length, 1, 'one request for the whole batch');
  const [request] = http.requests;
  assert.equal(request.method, 'GET');
  assert.equal(request.url.pathname, '/trpc/projects.getAll,projects.getById,volumes.getAll,images.getAll');
  assert.equal(request.url.searchParams.get('batch'), '1');
  assert.equal(request.headers.get('trpc-accept'), 'application/jsonl');
  assert.equal(request.status, 200, 'per-call errors never change the status of a stream');
});

srv.test('a mutation over httpBatchStreamLink (POST), then a typed validation error', async () => {
  const http = recordingFetch();
  const client = makeStreamClient(srv.trpcUrl, { token: srv.token, fetch: http.fetch });
  const demo = await seededProject(client, 'demo');
  const name = uniqueName('conf-jsonl');
  const volume = await client.volumes.create.mutate({ projectId: demo.id, name, sizeGb: 1 });
  assert.equal(volume.name, name);
  const error = await expectTRPCError(
    client.volumes.create.mutate({ projectId: demo.id, name: uniqueName('conf-jsonl-bad'), sizeGb: 'big' }),
    { code: 'BAD_REQUEST', httpStatus: 400, path: 'volumes.create' },
  );
  assert.match(error.message, /sizeGb/);
  assert.deepEqual(
    http.requests.map((r) => `${r.method} ${r.url.pathname} ${r.status}`),
    ['GET /trpc/projects.getAll 200', 'POST /trpc/volumes.create 200', 'POST /trpc/volumes.create 200'],
  );
});

srv.test('the stream itself: a head line for every call, then one line per call as it settles', async () => {
  const input = encodeURIComponent(JSON.stringify({ 1: { id: 'does-not-exist' } }));
  const response = await fetch(
    `${srv.trpcUrl}/compute.instances.getAll,projects.getById,projects.getAll?batch=1&input=${input}`,
    { headers: { 'trpc-accept': 'application/jsonl', ...sessionHeaders(srv.token) } },
  );
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.match(response.headers.get('vary') ?? '', /trpc-accept/);
  const text = await response.text();
  assert.ok(text.endsWith('\n'), 'every line ends with a newline');
  const [head, ...chunks] = text.trimEnd().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(Object.keys(head).sort(), ['0', '1', '2']);
  const chunkIds = Object.values(head).map(([[placeholder], [key, kind, chunkId]]) => {
    assert.deepEqual([placeholder, key, kind], [0, null, 0], 'each call is one promise');
    return chunkId;
  });
  assert.deepEqual(chunks.map(([id]) => id).sort(), [...chunkIds].sort(), 'one line per call, any order');
  for (const [, status, [[envelope]]] of chunks) {
    assert.equal(status, 0, 'settled calls are fulfilled, errors included');
    assert.ok('result' in envelope || 'error' in envelope, JSON.stringify(envelope));
  }
  const failed = chunks.find(([id]) => id === head['1'][1][2])[2][0][0];
  assert.equal(failed.error.data.code, 'NOT_FOUND');
  assert.equal(failed.error.data.path, 'projects.getById');
});
