// Resuming updates.subscribe from a lastEventId replays exactly what was missed.

import assert from 'node:assert/strict';

import { makeClient, recordUpdates, sleep } from '../lib/client.mjs';
import { ADMIN_TOKEN, useServer } from '../lib/server.mjs';

const srv = useServer();

srv.test('subscribing again with {lastEventId: N} replays the missed notices in order, once each', async () => {
  const client = makeClient(srv.trpcUrl, { token: srv.token });
  const admin = makeClient(srv.trpcUrl, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });

  // A witness that stays connected throughout sees every notice the server emits.
  const witness = recordUpdates(client);
  const first = recordUpdates(client);
  await Promise.all([witness.started(), first.started()]);

  await admin.admin.notify.mutate({ type: 'images' });
  const seen = await first.waitFor((e) => e.data?.type === 'images', { timeoutMs: 1_000, what: '{type:"images"}' });
  const lastEventId = seen.id;
  assert.equal(typeof lastEventId, 'string');
  first.unsubscribe();
  const witnessed = await witness.waitFor((e) => e.id === lastEventId, { timeoutMs: 1_000, what: `id ${lastEventId}` });
  assert.deepEqual(witnessed, seen, 'every subscriber gets the same id for the same notice');

  // Two notices while nobody resumable is listening (different types, so none coalesce).
  await admin.admin.notify.mutate({ type: 'compute' });
  await admin.admin.notify.mutate({ type: 'networks' });
  await witness.waitFor((e) => e.data?.type === 'networks', { timeoutMs: 1_000, what: '{type:"networks"}' });
  await sleep(300);
  const missed = witness.events.slice(witness.events.indexOf(witnessed) + 1);
  assert.deepEqual(
    missed.map((e) => e.data),
    [{ type: 'compute' }, { type: 'networks' }],
    'the server emitted exactly the two notified notices after N',
  );
  assert.ok(missed.every((e) => compareIds(e.id, lastEventId) > 0), `ids after ${lastEventId}: ${missed.map((e) => e.id)}`);

  const resumed = recordUpdates(client, { lastEventId });
  await resumed.started();
  await resumed.waitForCount(missed.length, { timeoutMs: 2_000 });
  await sleep(500); // anything replayed twice would show up here
  assert.deepEqual(resumed.events, missed, 'replay after N equals what the witness saw after N');
  assert.deepEqual(resumed.errors, []);
});

srv.test('resuming from the latest id replays nothing', async () => {
  const client = makeClient(srv.trpcUrl, { token: srv.token });
  const admin = makeClient(srv.trpcUrl, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  const first = recordUpdates(client);
  await first.started();
  await admin.admin.notify.mutate({ type: 'progress' });
  const latest = await first.waitFor((e) => e.data?.type === 'progress', { timeoutMs: 1_000, what: '{type:"progress"}' });
  first.unsubscribe();

  const resumed = recordUpdates(client, { lastEventId: latest.id });
  await resumed.started();
  await sleep(500);
  assert.deepEqual(resumed.events, []);

  await admin.admin.notify.mutate({ type: 'projects' });
  const live = await resumed.waitFor((e) => e.data?.type === 'projects', { timeoutMs: 1_000, what: '{type:"projects"}' });
  assert.ok(compareIds(live.id, latest.id) > 0, `live id ${live.id} follows ${latest.id}`);
});

/** Orders SSE ids numerically when both are integers, else as strings. */
function compareIds(a, b) {
  const [x, y] = /^\d+$/.test(a) && /^\d+$/.test(b) ? [BigInt(a), BigInt(b)] : [a, b];
  return x < y ? -1 : x > y ? 1 : 0;
}
