// httpSubscriptionLink (SSE via the eventsource package) on updates.subscribe.

import assert from 'node:assert/strict';

import { makeClient, recordUpdates, seededProject, uniqueName } from '../lib/client.mjs';
import { useServer } from '../lib/server.mjs';

const srv = useServer();

srv.test('a volumes.create in a project reaches a subscriber as a tracked volumes notice within 1 s', async () => {
  const client = makeClient(srv.trpcUrl, { token: srv.token });
  const ops = await seededProject(client, 'ops');

  const updates = recordUpdates(client);
  await updates.started();

  const volume = await client.volumes.create.mutate({ projectId: ops.id, name: uniqueName('conf-sse'), sizeGb: 1 });
  const createdAt = Date.now();
  assert.equal(volume.projectId, ops.id);

  const notice = await updates.waitFor((e) => e.data?.type === 'volumes' && e.data?.scope === ops.id, {
    timeoutMs: 1_000,
    what: `{type:"volumes", scope:${JSON.stringify(ops.id)}}`,
  });
  assert.ok(Date.now() - createdAt <= 1_000, `notice after ${Date.now() - createdAt} ms`);
  assert.equal(typeof notice.id, 'string', `tracked events carry an SSE id: ${JSON.stringify(notice)}`);
  assert.notEqual(notice.id, '');
  assert.deepEqual(updates.errors, []);

  // Ids of tracked events are distinct (they are the resume points).
  const ids = updates.events.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, `duplicate ids in ${JSON.stringify(updates.events)}`);

  // After unsubscribing nothing more is delivered.
  updates.unsubscribe();
  const seen = updates.events.length;
  await client.volumes.create.mutate({ projectId: ops.id, name: uniqueName('conf-sse-after'), sizeGb: 1 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(updates.events.length, seen, 'events after unsubscribe');
});

srv.test('the types filter only lets the requested notice types through', async () => {
  const client = makeClient(srv.trpcUrl, { token: srv.token });
  const demo = await seededProject(client, 'demo');

  const onlyImages = recordUpdates(client, { types: ['images'] });
  const all = recordUpdates(client);
  await Promise.all([onlyImages.started(), all.started()]);

  await client.volumes.create.mutate({ projectId: demo.id, name: uniqueName('conf-filter'), sizeGb: 1 });
  await all.waitFor((e) => e.data?.type === 'volumes' && e.data?.scope === demo.id, { timeoutMs: 1_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));

  const leaked = onlyImages.events.filter((e) => e.data?.type !== 'images' && e.data?.type !== 'resync');
  assert.deepEqual(leaked, [], 'a {types:["images"]} subscriber received other types');
  assert.deepEqual(onlyImages.errors, []);
});
