// Sessions with the real client: logging in with auth.login, presenting the session
// (Authorization on HTTP, a stream ticket in httpSubscriptionLink's connectionParams, the
// token in wsLink's), what happens without one, per-user notices and lists, logout ending
// open streams, and the Origin check.
//
// The notice tests come first: they need a quiet server (nothing but the notices they cause).

import { createTRPCClient, httpSubscriptionLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import assert from 'node:assert/strict';

import {
  expectSubscriptionError,
  expectTRPCError,
  login,
  makeClient,
  makeStreamClient,
  makeWsClient,
  makeWsOnlyClient,
  recordUpdates,
  recordingFetch,
  seededProject,
  sleep,
  streamTicket,
  uniqueName,
} from '../lib/client.mjs';
import { ADMIN_TOKEN, useServer } from '../lib/server.mjs';

const srv = useServer();

const TWELVE_HOURS = 12 * 3600;

/** Orders SSE ids numerically when both are integers, else as strings. */
function compareIds(a, b) {
  const [x, y] = /^\d+$/.test(a) && /^\d+$/.test(b) ? [BigInt(a), BigInt(b)] : [a, b];
  return x < y ? -1 : x > y ? 1 : 0;
}

function assertIdsIncrease(events, who) {
  for (const event of events) assert.equal(typeof event.id, 'string', `${who}: untracked ${JSON.stringify(event)}`);
  for (let i = 1; i < events.length; i++) {
    assert.ok(compareIds(events[i - 1].id, events[i].id) < 0, `${who}: ids not strictly increasing: ${events.map((e) => e.id)}`);
  }
}

/** Subscribes `username` twice: over httpSubscriptionLink and over wsLink, each with the session. */
async function subscribeBoth(username, input) {
  const { token } = await srv.login(username);
  const sse = recordUpdates(makeClient(srv.trpcUrl, { token }), input);
  const ws = recordUpdates(makeWsOnlyClient(makeWsClient(srv.trpcUrl, { token })), input);
  await Promise.all([sse.started(), ws.started()]);
  return { token, sse, ws };
}

srv.test('no leak: alice gets demo and global notices only, bob ops and global, over SSE and WebSocket', async () => {
  const admin = makeClient(srv.trpcUrl, { token: srv.token });
  const [demo, ops] = await Promise.all([seededProject(admin, 'demo'), seededProject(admin, 'ops')]);
  const operator = makeClient(srv.trpcUrl, { link: 'single', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });

  const alice = await subscribeBoth('alice');
  const bob = await subscribeBoth('bob');
  // The admin sees every notice: proof that the scoped ones were sent at all.
  const everything = recordUpdates(admin);
  await everything.started();

  // The same type in both projects, so only the scope tells them apart; the global one last.
  await operator.admin.notify.mutate({ type: 'projects' });
  await operator.admin.notify.mutate({ type: 'networks', scope: demo.id });
  await operator.admin.notify.mutate({ type: 'networks', scope: ops.id });
  await operator.admin.notify.mutate({ type: 'images' });

  const subscribers = { 'alice/sse': alice.sse, 'alice/ws': alice.ws, 'bob/sse': bob.sse, 'bob/ws': bob.ws, admin: everything };
  for (const [who, updates] of Object.entries(subscribers)) {
    await updates.waitFor((e) => e.data?.type === 'images', { timeoutMs: 2_000, what: `${who}: {type:"images"}` });
  }
  await sleep(300); // anything else on its way would show up here

  const marker = { type: 'projects' };
  const demoNotice = { type: 'networks', scope: demo.id };
  const opsNotice = { type: 'networks', scope: ops.id };
  const global = { type: 'images' };
  assert.deepEqual(everything.events.map((e) => e.data), [marker, demoNotice, opsNotice, global], 'admin sees all');
  for (const [who, updates, expected] of [
    ['alice/sse', alice.sse, [marker, demoNotice, global]],
    ['alice/ws', alice.ws, [marker, demoNotice, global]],
    ['bob/sse', bob.sse, [marker, opsNotice, global]],
    ['bob/ws', bob.ws, [marker, opsNotice, global]],
  ]) {
    assert.deepEqual(updates.events.map((e) => e.data), expected, `${who} received ${JSON.stringify(updates.events)}`);
    assertIdsIncrease(updates.events, who);
    assert.deepEqual(updates.errors, [], who);
    // The same notice has the same id for everyone.
    const ids = new Map(everything.events.map((e) => [JSON.stringify(e.data), e.id]));
    for (const event of updates.events) assert.equal(event.id, ids.get(JSON.stringify(event.data)), `${who}: id of ${JSON.stringify(event)}`);
  }

  // Replay is filtered the same way: resuming after the marker.
  const from = everything.events[0].id;
  const aliceAgain = recordUpdates(makeClient(srv.trpcUrl, { token: alice.token }), { lastEventId: from });
  const bobAgain = recordUpdates(makeWsOnlyClient(makeWsClient(srv.trpcUrl, { token: bob.token })), { lastEventId: from });
  await Promise.all([aliceAgain.started(), bobAgain.started()]);
  await aliceAgain.waitFor((e) => e.data?.type === 'images', { timeoutMs: 2_000, what: 'alice: replayed {type:"images"}' });
  await bobAgain.waitFor((e) => e.data?.type === 'images', { timeoutMs: 2_000, what: 'bob: replayed {type:"images"}' });
  await sleep(300);
  assert.deepEqual(aliceAgain.events, alice.sse.events.slice(1), 'alice resumed over SSE');
  assert.deepEqual(bobAgain.events, bob.ws.events.slice(1), 'bob resumed over WebSocket');
});

srv.test('a types filter and the session filter apply together', async () => {
  const admin = makeClient(srv.trpcUrl, { token: srv.token });
  const [demo, ops] = await Promise.all([seededProject(admin, 'demo'), seededProject(admin, 'ops')]);
  const operator = makeClient(srv.trpcUrl, { link: 'single', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  const bob = await subscribeBoth('bob', { types: ['volumes', 'progress'] });

  await operator.admin.notify.mutate({ type: 'volumes', scope: demo.id });
  await operator.admin.notify.mutate({ type: 'compute', scope: ops.id });
  await operator.admin.notify.mutate({ type: 'volumes', scope: ops.id });
  await operator.admin.notify.mutate({ type: 'progress' });
  for (const updates of [bob.sse, bob.ws]) {
    await updates.waitFor((e) => e.data?.type === 'progress', { timeoutMs: 2_000, what: '{type:"progress"}' });
  }
  await sleep(300);
  for (const [who, updates] of [['sse', bob.sse], ['ws', bob.ws]]) {
    assert.deepEqual(
      updates.events.map((e) => e.data),
      [{ type: 'volumes', scope: ops.id }, { type: 'progress' }],
      `bob/${who} received ${JSON.stringify(updates.events)}`,
    );
    assertIdsIncrease(updates.events, `bob/${who}`);
  }
});

srv.test('without a session: calls on every link are UNAUTHORIZED, and so are subscriptions', async () => {
  const batch = makeClient(srv.trpcUrl);
  const single = makeClient(srv.trpcUrl, { link: 'single' });
  const stream = makeStreamClient(srv.trpcUrl);
  const ws = makeWsOnlyClient(makeWsClient(srv.trpcUrl));
  for (const [name, client] of Object.entries({ batch, single, stream, ws })) {
    await expectTRPCError(client.projects.getAll.query(), { code: 'UNAUTHORIZED', httpStatus: 401, path: 'projects.getAll' }).catch(
      (err) => assert.fail(`${name}: ${err.message}`),
    );
  }
  await expectTRPCError(batch.volumes.create.mutate({ projectId: 'x', name: uniqueName('conf-anon'), sizeGb: 1 }), {
    code: 'UNAUTHORIZED',
    httpStatus: 401,
    path: 'volumes.create',
  });
  await expectTRPCError(batch.auth.me.query(), { code: 'UNAUTHORIZED', httpStatus: 401, path: 'auth.me' });

  // The guard runs before the input is read: a bad input still says UNAUTHORIZED.
  await expectTRPCError(single.volumes.create.mutate({ sizeGb: 'big' }), { code: 'UNAUTHORIZED', httpStatus: 401 });

  const overSse = recordUpdates(batch);
  const overWs = recordUpdates(ws);
  await expectSubscriptionError(overSse, { code: 'UNAUTHORIZED', httpStatus: 401 });
  await expectSubscriptionError(overWs, { code: 'UNAUTHORIZED', httpStatus: 401 });
  assert.deepEqual(overSse.events, []);
  assert.deepEqual(overWs.events, []);
});

srv.test('a token that is not a session is UNAUTHORIZED on HTTP, SSE and WebSocket', async () => {
  const token = 'f'.repeat(64);
  const http = makeClient(srv.trpcUrl, { token });
  await expectTRPCError(http.projects.getAll.query(), { code: 'UNAUTHORIZED', httpStatus: 401, path: 'projects.getAll' });
  const ws = makeWsOnlyClient(makeWsClient(srv.trpcUrl, { token }));
  await expectTRPCError(ws.projects.getAll.query(), { code: 'UNAUTHORIZED', httpStatus: 401, path: 'projects.getAll' });
  await expectSubscriptionError(recordUpdates(http), { code: 'UNAUTHORIZED', httpStatus: 401 });
  await expectSubscriptionError(recordUpdates(ws), { code: 'UNAUTHORIZED', httpStatus: 401 });
});

srv.test('httpSubscriptionLink: a session token in connectionParams (the URL) is UNAUTHORIZED; a stream ticket opens one stream, once', async () => {
  const { token } = await srv.login('alice');
  const sse = (connectionParams) =>
    createTRPCClient({ links: [httpSubscriptionLink({ url: srv.trpcUrl, EventSource, connectionParams })] });
  const byToken = recordUpdates(sse({ token }));
  await expectSubscriptionError(byToken, { code: 'UNAUTHORIZED', httpStatus: 401 });
  byToken.unsubscribe();

  const ticket = await streamTicket(srv.trpcUrl, token);
  assert.match(ticket.ticket, /^[0-9a-f]{64}$/);
  const first = recordUpdates(sse(ticket));
  await first.started();
  const replayed = recordUpdates(sse(ticket));
  await expectSubscriptionError(replayed, { code: 'UNAUTHORIZED', httpStatus: 401 });
  first.unsubscribe();
});

srv.test('auth.login with a wrong password is UNAUTHORIZED and opens no session', async () => {
  await expectTRPCError(login(srv.trpcUrl, 'alice', { password: 'not-alice' }), {
    code: 'UNAUTHORIZED',
    httpStatus: 401,
    path: 'auth.login',
  });
  await expectTRPCError(login(srv.trpcUrl, 'nobody', { password: 'nobody' }), {
    code: 'UNAUTHORIZED',
    httpStatus: 401,
    path: 'auth.login',
  });
});

srv.test('auth.login answers the token and who logged in, and sets an HttpOnly session cookie', async () => {
  const http = recordingFetch();
  const session = await login(srv.trpcUrl, 'alice', { fetch: http.fetch });
  assert.match(session.token, /^[0-9a-f]{64}$/);
  assert.equal(session.me.userName, 'alice');
  assert.equal(session.me.admin, false);
  assert.equal(typeof session.me.userId, 'string');
  assert.notEqual(session.me.userId, '');
  assert.deepEqual(session.me.projects.map((p) => p.name), ['demo']);
  assert.ok(session.me.projects[0].roles.includes('member'), JSON.stringify(session.me.projects));
  assert.ok(session.me.expiresInSeconds > 0 && session.me.expiresInSeconds <= TWELVE_HOURS, String(session.me.expiresInSeconds));

  assert.equal(http.requests.length, 1);
  assert.equal(http.requests[0].method, 'POST');
  assert.equal(http.requests[0].url.pathname, '/trpc/auth.login');
  assert.equal(http.requests[0].status, 200);

  // What a browser gets: the cookie alone carries the session.
  const response = await fetch(`${srv.trpcUrl}/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bob', password: 'bob' }),
  });
  assert.equal(response.status, 200);
  const cookie = response.headers.get('set-cookie') ?? '';
  const { result } = await response.json();
  assert.match(cookie, new RegExp(`^tidings_session=${result.data.token};`));
  assert.match(cookie, /;\s*HttpOnly/i);
  assert.match(cookie, /;\s*SameSite=Lax/i);
  assert.match(cookie, /;\s*Path=\//);
  const byCookie = makeClient(srv.trpcUrl, { headers: { cookie: `tidings_session=${result.data.token}` } });
  const me = await byCookie.auth.me.query();
  assert.equal(me.userName, 'bob');
});

srv.test('auth.me returns the logged-in user over HTTP and WebSocket', async () => {
  const alice = await srv.login('alice');
  const overHttp = await makeClient(srv.trpcUrl, { token: alice.token }).auth.me.query();
  const overWs = await makeWsOnlyClient(makeWsClient(srv.trpcUrl, { token: alice.token })).auth.me.query();
  for (const me of [overHttp, overWs]) {
    assert.equal(me.userName, 'alice');
    assert.equal(me.userId, alice.me.userId);
    assert.equal(me.admin, false);
    assert.deepEqual(me.projects, alice.me.projects);
    assert.ok(me.expiresInSeconds > 0 && me.expiresInSeconds <= alice.me.expiresInSeconds, String(me.expiresInSeconds));
  }

  const admin = await makeClient(srv.trpcUrl, { token: srv.token }).auth.me.query();
  assert.equal(admin.userName, 'admin');
  assert.equal(admin.admin, true);
  const names = admin.projects.map((p) => p.name);
  for (const seeded of ['admin', 'demo', 'ops']) assert.ok(names.includes(seeded), `${seeded} in ${names}`);

  const carol = await srv.login('carol');
  assert.equal(carol.me.userName, 'carol');
  assert.deepEqual(carol.me.projects.map((p) => [p.name, p.roles]), [['demo', ['reader']]]);
});

srv.test('lists show only the projects a user has a role on; another project is FORBIDDEN', async () => {
  const admin = makeClient(srv.trpcUrl, { token: srv.token });
  const [demo, ops] = await Promise.all([seededProject(admin, 'demo'), seededProject(admin, 'ops')]);
  const alice = makeClient(srv.trpcUrl, { token: (await srv.login('alice')).token });
  const bob = makeClient(srv.trpcUrl, { token: (await srv.login('bob')).token });

  assert.deepEqual((await alice.projects.getAll.query()).map((p) => p.id), [demo.id]);
  assert.deepEqual((await bob.projects.getAll.query()).map((p) => p.id), [ops.id]);
  for (const volume of await alice.volumes.getAll.query()) assert.equal(volume.projectId, demo.id, JSON.stringify(volume));
  for (const volume of await bob.volumes.getAll.query()) assert.equal(volume.projectId, ops.id, JSON.stringify(volume));
  for (const instance of await bob.compute.instances.getAll.query()) assert.equal(instance.projectId, ops.id, JSON.stringify(instance));
  const everyInstance = await admin.compute.instances.getAll.query();
  assert.ok(everyInstance.some((i) => i.projectId === demo.id), 'the seed has instances in demo (else the check above proves little)');

  await expectTRPCError(alice.volumes.getAll.query({ projectId: ops.id }), { code: 'FORBIDDEN', httpStatus: 403, path: 'volumes.getAll' });
  await expectTRPCError(bob.compute.instances.getAll.query({ projectId: demo.id }), {
    code: 'FORBIDDEN',
    httpStatus: 403,
    path: 'compute.instances.getAll',
  });
});

srv.test('a reader may list but not change: volumes.create as carol is FORBIDDEN, as alice it works', async () => {
  const admin = makeClient(srv.trpcUrl, { token: srv.token });
  const demo = await seededProject(admin, 'demo');
  const carol = makeClient(srv.trpcUrl, { token: (await srv.login('carol')).token });
  const alice = makeClient(srv.trpcUrl, { token: (await srv.login('alice')).token });

  assert.deepEqual((await carol.projects.getAll.query()).map((p) => p.id), [demo.id]);
  assert.ok(Array.isArray(await carol.volumes.getAll.query({ projectId: demo.id })));
  const name = uniqueName('conf-reader');
  await expectTRPCError(carol.volumes.create.mutate({ projectId: demo.id, name, sizeGb: 1 }), {
    code: 'FORBIDDEN',
    httpStatus: 403,
    path: 'volumes.create',
  });
  const volume = await alice.volumes.create.mutate({ projectId: demo.id, name: uniqueName('conf-writer'), sizeGb: 1 });
  assert.equal(volume.projectId, demo.id);
  assert.deepEqual((await admin.volumes.getAll.query()).filter((v) => v.name === name), [], 'the refused create made nothing');
});

srv.test("logout ends alice's open subscriptions with UNAUTHORIZED, and later calls fail", async () => {
  const alice = await subscribeBoth('alice');
  const client = makeClient(srv.trpcUrl, { token: alice.token });
  const wsClient = makeWsOnlyClient(makeWsClient(srv.trpcUrl, { token: alice.token }));
  assert.equal((await client.auth.me.query()).userName, 'alice');
  assert.equal((await wsClient.auth.me.query()).userName, 'alice');
  // Another session of the same user is left alone.
  const other = await srv.login('alice');

  await client.auth.logout.mutate();

  await expectSubscriptionError(alice.sse, { code: 'UNAUTHORIZED', httpStatus: 401 });
  await expectSubscriptionError(alice.ws, { code: 'UNAUTHORIZED', httpStatus: 401 });
  await expectTRPCError(client.projects.getAll.query(), { code: 'UNAUTHORIZED', httpStatus: 401, path: 'projects.getAll' });
  await expectTRPCError(client.auth.me.query(), { code: 'UNAUTHORIZED', httpStatus: 401, path: 'auth.me' });
  await expectTRPCError(wsClient.projects.getAll.query(), { code: 'UNAUTHORIZED', httpStatus: 401, path: 'projects.getAll' });
  await expectSubscriptionError(recordUpdates(client), { code: 'UNAUTHORIZED', httpStatus: 401 });

  // Logging out again is not an error; the other session still works.
  await client.auth.logout.mutate();
  assert.equal((await makeClient(srv.trpcUrl, { token: other.token }).auth.me.query()).userName, 'alice');
});

srv.test('a cross-site Origin is FORBIDDEN on a mutation and on auth.login; the own origin passes', async () => {
  const admin = makeClient(srv.trpcUrl, { token: srv.token });
  const demo = await seededProject(admin, 'demo');
  const name = uniqueName('conf-csrf');
  const http = recordingFetch();
  const crossSite = makeClient(srv.trpcUrl, { token: srv.token, fetch: http.fetch, headers: { Origin: 'https://evil.example' } });

  await expectTRPCError(crossSite.volumes.create.mutate({ projectId: demo.id, name, sizeGb: 1 }), {
    code: 'FORBIDDEN',
    httpStatus: 403,
  });
  assert.equal(http.requests.at(-1).headers.get('origin'), 'https://evil.example');
  assert.equal(http.requests.at(-1).status, 403);
  await expectTRPCError(
    login(srv.trpcUrl, 'alice', { headers: { Origin: 'https://evil.example' } }),
    { code: 'FORBIDDEN', httpStatus: 403 },
  );
  assert.deepEqual((await admin.volumes.getAll.query()).filter((v) => v.name === name), [], 'the refused create made nothing');

  const sameSite = makeClient(srv.trpcUrl, { token: srv.token, headers: { Origin: new URL(srv.baseUrl).origin } });
  const volume = await sameSite.volumes.create.mutate({ projectId: demo.id, name, sizeGb: 1 });
  assert.equal(volume.name, name);
});
