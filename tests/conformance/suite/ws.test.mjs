// wsLink (createWSClient over the `ws` package) on ws://…/trpc: calls, typed errors, the
// updates stream, connectionParams, splitLink with httpBatchStreamLink, and resuming after
// the server went away.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  closeAllSubscriptions,
  eventually,
  expectTRPCError,
  login,
  makeWsClient,
  makeWsOnlyClient,
  makeWsSplitClient,
  recordUpdates,
  recordingFetch,
  recordingWebSocket,
  seededProject,
  uniqueName,
} from '../lib/client.mjs';
import { serveArgs, startServer, useServer } from '../lib/server.mjs';

const srv = useServer();

srv.test('wsLink: a query, a mutation and a typed error, each on the socket', async () => {
  const wire = recordingWebSocket();
  const client = makeWsOnlyClient(makeWsClient(srv.trpcUrl, { WebSocket: wire.WebSocket, token: srv.token }));

  const demo = await seededProject(client, 'demo');
  const name = uniqueName('conf-ws');
  const volume = await client.volumes.create.mutate({ projectId: demo.id, name, sizeGb: 1 });
  assert.equal(volume.name, name);
  assert.equal(volume.projectId, demo.id);

  const error = await expectTRPCError(
    client.volumes.create.mutate({ projectId: demo.id, name: uniqueName('conf-ws-bad'), sizeGb: 'big' }),
    { code: 'BAD_REQUEST', httpStatus: 400, path: 'volumes.create' },
  );
  assert.match(error.message, /sizeGb/);
  await expectTRPCError(client.nope.nothing.query(), { code: 'NOT_FOUND', httpStatus: 404, path: 'nope.nothing' });

  const sent = wire.sent().map((s) => s.message.method);
  assert.deepEqual(sent, ['connectionParams', 'query', 'mutation', 'mutation', 'query']);
  const replies = wire.received().map((r) => r.message);
  assert.equal(replies.length, 4, JSON.stringify(replies));
  assert.deepEqual(replies[1], { id: 2, result: { type: 'data', data: volume } });
  assert.equal(new Set(wire.frames.map((f) => f.socket)).size, 1, 'one socket for everything');
});

srv.test('wsLink: updates.subscribe receives the tracked notice a mutation caused', async () => {
  const wire = recordingWebSocket();
  const client = makeWsOnlyClient(makeWsClient(srv.trpcUrl, { WebSocket: wire.WebSocket, token: srv.token }));
  const ops = await seededProject(client, 'ops');

  const updates = recordUpdates(client);
  await updates.started();
  await client.volumes.create.mutate({ projectId: ops.id, name: uniqueName('conf-ws-sub'), sizeGb: 1 });
  const notice = await updates.waitFor((e) => e.data?.type === 'volumes' && e.data?.scope === ops.id, {
    timeoutMs: 1_000,
    what: `{type:"volumes", scope:${JSON.stringify(ops.id)}}`,
  });
  assert.equal(typeof notice.id, 'string');
  assert.deepEqual(updates.errors, []);

  // On the wire: started, then data as {id, data} with the id repeated as result.id.
  const subId = wire.sent().find((s) => s.message.method === 'subscription').message.id;
  const frames = wire.received().filter((r) => r.message.id === subId).map((r) => r.message);
  assert.deepEqual(frames[0], { id: subId, result: { type: 'started' } });
  const frame = frames.find((f) => f.result?.id === notice.id);
  assert.deepEqual(frame, { id: subId, result: { type: 'data', data: notice, id: notice.id } });

  // Unsubscribing sends subscription.stop; the server confirms with stopped.
  updates.unsubscribe();
  await waitUntil(() => wire.received().some((r) => r.message.id === subId && r.message.result?.type === 'stopped'));
  assert.ok(wire.sent().some((s) => s.message.method === 'subscription.stop' && s.message.id === subId));
});

srv.test('wsLink with connectionParams: the first frame carries them and calls still work', async () => {
  const wire = recordingWebSocket();
  const { token } = await srv.login('admin');
  const wsClient = makeWsClient(srv.trpcUrl, { WebSocket: wire.WebSocket, connectionParams: { token } });
  const client = makeWsOnlyClient(wsClient);
  const projects = await client.projects.getAll.query();
  assert.ok(projects.length > 0);
  const first = wire.frames.find((f) => f.dir === '>>');
  assert.deepEqual(JSON.parse(first.data), { method: 'connectionParams', data: { token } });
});

srv.test('splitLink: subscriptions over wsLink, queries and mutations over httpBatchStreamLink', async () => {
  const wire = recordingWebSocket();
  const http = recordingFetch();
  const client = makeWsSplitClient(srv.trpcUrl, makeWsClient(srv.trpcUrl, { WebSocket: wire.WebSocket, token: srv.token }), {
    token: srv.token,
    fetch: http.fetch,
  });
  const demo = await seededProject(client, 'demo');

  const updates = recordUpdates(client, { types: ['volumes'] });
  await updates.started();
  await client.volumes.create.mutate({ projectId: demo.id, name: uniqueName('conf-split'), sizeGb: 1 });
  await updates.waitFor((e) => e.data?.type === 'volumes' && e.data?.scope === demo.id, { timeoutMs: 1_000 });

  assert.deepEqual(
    wire.sent().map((s) => s.message.method),
    ['connectionParams', 'subscription'],
    'only the session and the subscription went over the socket',
  );
  for (const request of http.requests) assert.equal(request.headers.get('authorization'), `Bearer ${srv.token}`);
  assert.deepEqual(
    http.requests.map((r) => `${r.method} ${r.url.pathname}`),
    ['GET /trpc/projects.getAll', 'POST /trpc/volumes.create'],
  );
  for (const request of http.requests) {
    assert.equal(request.headers.get('trpc-accept'), 'application/jsonl');
    assert.equal(request.url.searchParams.get('batch'), '1');
    assert.equal(request.status, 200);
  }
});

test('resume: after shutdown sends reconnect, the client resubscribes with lastEventId on the server that replaced it', { timeout: 60_000 }, async () => {
  let first = await startServer();
  let second;
  try {
    const port = new URL(first.baseUrl).port;
    // Sessions live in the server process: the replacement knows none of the first one's, so
    // the app logs in again there. Each socket's connectionParams wait for the current login.
    let session = login(first.trpcUrl, 'admin');
    const wire = recordingWebSocket();
    const wsClient = makeWsClient(first.trpcUrl, {
      WebSocket: wire.WebSocket,
      retryDelayMs: () => 200,
      connectionParams: async () => ({ token: (await session).token }),
    });
    const client = makeWsOnlyClient(wsClient);
    const demo = await seededProject(client, 'demo');

    const updates = recordUpdates(client);
    await updates.started();
    await client.volumes.create.mutate({ projectId: demo.id, name: uniqueName('conf-resume'), sizeGb: 1 });
    const seen = await updates.waitFor((e) => e.data?.type === 'volumes', { timeoutMs: 1_000 });

    // SIGTERM: the server tells the socket to reconnect, closes it, and exits.
    let loggedInAgain;
    session = new Promise((resolve) => {
      loggedInAgain = resolve;
    });
    await first.stop();
    const socketOne = wire.frames.filter((f) => f.socket === 1);
    const farewell = socketOne.findIndex((f) => f.data === '{"id":null,"method":"reconnect"}');
    assert.ok(farewell >= 0, `no reconnect frame: ${JSON.stringify(socketOne.slice(-3))}`);
    await waitUntil(() => wire.frames.some((f) => f.socket === 1 && f.dir === 'close'));
    // The last notice the first server delivered: `seen`, or a later one (the new volume
    // leaving "creating" makes another volumes notice, which may arrive before the shutdown).
    const lastSeen = updates.events.at(-1);
    assert.ok(updates.events.indexOf(lastSeen) >= updates.events.indexOf(seen), 'seen was delivered');

    // A new server on the same address; the client finds it and resubscribes.
    const args = serveArgs().map((arg) => (arg === '127.0.0.1:0' ? `127.0.0.1:${port}` : arg));
    second = await startServer({ args });
    loggedInAgain(await login(second.trpcUrl, 'admin'));
    const resubscribed = await waitUntil(
      () =>
        wire
          .sent()
          .find((s) => s.socket > 1 && s.message.method === 'subscription' && s.message.params?.path === 'updates.subscribe'),
      { what: 'a resubscription on a new socket' },
    );
    assert.equal(resubscribed.message.params.lastEventId, lastSeen.id, 'resubscribed from the last event seen');

    // The replacement's log does not hold that id: it says resync, then the stream goes on live.
    const resync = await updates.waitFor((e) => (e.data ?? e)?.type === 'resync', { timeoutMs: 5_000, what: 'a resync' });
    assert.equal((resync.data ?? resync).reason, 'gap');
    await client.volumes.create.mutate({ projectId: demo.id, name: uniqueName('conf-resume-live'), sizeGb: 1 });
    await updates.waitFor((e) => e.data?.type === 'volumes' && updates.events.indexOf(e) > updates.events.indexOf(resync), {
      timeoutMs: 2_000,
      what: 'a live notice from the new server',
    });
    assert.deepEqual(updates.errors, []);
  } finally {
    closeAllSubscriptions();
    await first.stop();
    await second?.stop();
  }
});

/** Polls `check` every 20 ms until it returns something truthy, which it returns. */
function waitUntil(check, { timeoutMs = 5_000, what = 'condition' } = {}) {
  return eventually(check, { timeoutMs, intervalMs: 20, what });
}
