// The real @trpc/client wired the way an application wires it, plus the recorders the
// suites assert on: a fetch that logs every HTTP request, a WebSocket that logs every frame,
// and a subscription that keeps every event it received.

import {
  TRPCClientError,
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpBatchStreamLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  wsLink,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

/** JSON-RPC numbers of the error keys the suites expect (wire doc §4). */
export const JSONRPC_CODE = {
  BAD_REQUEST: -32600,
  UNAUTHORIZED: -32001,
  FORBIDDEN: -32003,
  NOT_FOUND: -32004,
};

/** The simulator's seeded users; each one's password is their name. */
export const USERS = {
  /** Admin of every project: sees everything. */
  admin: 'admin',
  /** Member (writer) of `demo`. */
  alice: 'alice',
  /** Member (writer) of `ops`. */
  bob: 'bob',
  /** Reader of `demo`. */
  carol: 'carol',
};

/**
 * Logs in through the real client (`auth.login`, a mutation over `httpLink`) and returns its
 * answer, `{token, me}`. The password defaults to the seeded one (the user's name).
 */
export async function login(trpcUrl, username, { password = USERS[username] ?? username, project, fetch, headers } = {}) {
  const client = createTRPCClient({ links: [httpLink({ url: trpcUrl, fetch, headers })] });
  const input = project === undefined ? { username, password } : { username, password, project };
  const session = await client.auth.login.mutate(input);
  assert.equal(typeof session?.token, 'string', `auth.login answered ${JSON.stringify(session)}`);
  assert.notEqual(session.token, '');
  return session;
}

/** `{ticket}` connection params for one SSE subscription of the session with `token`. */
export async function streamTicket(trpcUrl, token) {
  const client = createTRPCClient({ links: [httpLink({ url: trpcUrl, headers: sessionHeaders(token) })] });
  const { ticket } = await client.auth.streamTicket.mutate();
  return { ticket };
}

/** The HTTP headers that present a session: `Authorization: Bearer <token>`. */
export function sessionHeaders(token) {
  return token === undefined ? {} : { Authorization: `Bearer ${token}` };
}

/** `headers` with the session's `Authorization` added (the caller's own win). */
function withSession(token, headers) {
  if (token === undefined) return headers;
  if (typeof headers === 'function') return async (...args) => ({ ...sessionHeaders(token), ...(await headers(...args)) });
  return { ...sessionHeaders(token), ...headers };
}

/**
 * A `fetch` that records `{method, url, headers, body, status}` for each request it makes.
 * `status` is filled in once the response head arrived.
 */
export function recordingFetch() {
  const requests = [];
  const recorded = async (input, init = {}) => {
    const entry = {
      method: (init.method ?? 'GET').toUpperCase(),
      url: new URL(typeof input === 'string' ? input : input.url ?? String(input)),
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? init.body : init.body == null ? undefined : '<non-string body>',
      status: undefined,
    };
    requests.push(entry);
    const response = await fetch(input, init);
    entry.status = response.status;
    return response;
  };
  return { fetch: recorded, requests };
}

/**
 * A client whose subscriptions go over SSE and everything else over `httpBatchLink`
 * (`link: 'batch'`, the default) or `httpLink` (`link: 'single'`).
 *
 * `token` (from `login`) presents the session as applications do: `Authorization: Bearer`
 * on the HTTP calls; `httpSubscriptionLink`, whose connection params travel in the query
 * string (EventSource cannot set headers), where the server refuses a session token, opens
 * each stream with a fresh single-use `{ticket}` from `auth.streamTicket`. Without it the
 * client has no session.
 */
export function makeClient(trpcUrl, { link = 'batch', fetch, headers, token } = {}) {
  const requestLink = link === 'batch' ? httpBatchLink : httpLink;
  return createTRPCClient({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: trpcUrl,
          EventSource,
          ...(token === undefined ? {} : { connectionParams: () => streamTicket(trpcUrl, token) }),
        }),
        false: requestLink({ url: trpcUrl, fetch, headers: withSession(token, headers) }),
      }),
    ],
  });
}

/**
 * A `WebSocket` class (the `ws` package; Node 20 has none) that records every frame of every
 * socket it opens: `{socket, dir: '>>' | '<<' | 'close', data?, code?}`, `socket` counting
 * from 1. `sent()` / `received()` return the parsed JSON frames in one direction.
 */
export function recordingWebSocket() {
  const frames = [];
  let sockets = 0;
  class RecordingWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      const socket = ++sockets;
      this.recordedAs = socket;
      this.addEventListener('message', (event) => frames.push({ socket, dir: '<<', data: String(event.data) }));
      this.addEventListener('close', (event) => frames.push({ socket, dir: 'close', code: event.code }));
    }
    send(data, ...rest) {
      frames.push({ socket: this.recordedAs, dir: '>>', data: String(data) });
      return super.send(data, ...rest);
    }
  }
  const parsed = (dir) =>
    frames
      .filter((f) => f.dir === dir && f.data !== 'PING' && f.data !== 'PONG')
      .flatMap((f) => [JSON.parse(f.data)].flat().map((message) => ({ socket: f.socket, message })));
  return {
    WebSocket: RecordingWebSocket,
    frames,
    /** Client → server messages (arrays flattened), each with its socket number. */
    sent: () => parsed('>>'),
    /** Server → client messages, each with its socket number. */
    received: () => parsed('<<'),
  };
}

const openWsClients = new Set();

/**
 * A `createWSClient` on the server's `/trpc` (its http URL turned into ws://). Options go to
 * `createWSClient`; `WebSocket` defaults to the `ws` package. `token` (from `login`) presents
 * the session as the `{token}` connection params, the first frame of every socket. Closed by
 * `closeAllSubscriptions`.
 */
export function makeWsClient(trpcUrl, { token, ...options } = {}) {
  if (token !== undefined) options.connectionParams = { token };
  const wsClient = createWSClient({ WebSocket, ...options, url: trpcUrl.replace(/^http/, 'ws') });
  openWsClients.add(wsClient);
  return wsClient;
}

/** A client that sends everything over one WebSocket (`wsLink`). */
export function makeWsOnlyClient(wsClient) {
  return createTRPCClient({ links: [wsLink({ client: wsClient })] });
}

/**
 * The usual real-time wiring: subscriptions over `wsLink`, queries and mutations over
 * `httpBatchStreamLink` (JSONL).
 */
export function makeWsSplitClient(trpcUrl, wsClient, { fetch, headers, token } = {}) {
  return createTRPCClient({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: wsClient }),
        false: httpBatchStreamLink({ url: trpcUrl, fetch, headers: withSession(token, headers) }),
      }),
    ],
  });
}

/** A client whose queries and mutations go over `httpBatchStreamLink` alone. */
export function makeStreamClient(trpcUrl, { fetch, headers, token } = {}) {
  return createTRPCClient({ links: [httpBatchStreamLink({ url: trpcUrl, fetch, headers: withSession(token, headers) })] });
}

const openSubscriptions = new Set();

/** Unsubscribes everything `recordUpdates` opened and has not closed yet, and closes the
 * WebSocket clients `makeWsClient` opened. */
export function closeAllSubscriptions() {
  for (const sub of openSubscriptions) sub.unsubscribe();
  for (const wsClient of openWsClients) wsClient.close().catch(() => {});
  openWsClients.clear();
}

/**
 * Subscribes to `updates.subscribe` and records what arrives.
 * `events` holds the `{id, data}` values in arrival order; `errors` any subscription error.
 */
export function recordUpdates(client, input) {
  const events = [];
  const errors = [];
  const waiters = new Set();
  let onStarted;
  let completed = false;
  const started = new Promise((resolve, reject) => {
    onStarted = { resolve, reject };
  });
  started.catch(() => {});
  const wake = () => {
    for (const waiter of waiters) waiter();
  };

  const subscription = client.updates.subscribe.subscribe(input, {
    onStarted: () => onStarted.resolve(),
    onData: (event) => {
      events.push(event);
      wake();
    },
    onError: (err) => {
      errors.push(err);
      onStarted.reject(err);
      wake();
    },
    onComplete: () => {
      completed = true;
      wake();
    },
  });

  const handle = {
    events,
    errors,
    /** Resolves on the first `connected` event; rejects on a subscription error or timeout. */
    started: (timeoutMs = 5_000) => withTimeout(started, timeoutMs, 'subscription did not start (no onStarted)'),
    /**
     * Resolves with the first recorded event matching `predicate` (including earlier ones).
     * Fails on a subscription error, completion, or when `timeoutMs` passes.
     */
    waitFor(predicate, { timeoutMs = 5_000, what = 'a matching event' } = {}) {
      return waitUntil(() => events.find(predicate), timeoutMs, what);
    },
    /** Resolves with the subscription's error once there is one; fails on completion or timeout. */
    waitForError({ timeoutMs = 5_000 } = {}) {
      return waitUntil(() => errors[0], timeoutMs, 'a subscription error');
    },
    /** Resolves once at least `count` events were recorded. */
    waitForCount(count, { timeoutMs = 5_000 } = {}) {
      return waitUntil(() => (events.length >= count ? events.slice() : undefined), timeoutMs, `${count} events`);
    },
    unsubscribe() {
      subscription.unsubscribe();
      openSubscriptions.delete(handle);
    },
  };
  openSubscriptions.add(handle);
  return handle;

  function waitUntil(check, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const settle = () => {
        const found = check();
        if (found !== undefined) return finish(() => resolve(found));
        if (errors.length) return finish(() => reject(errors[0]));
        if (completed) return finish(() => reject(new Error(`subscription completed before ${what} arrived`)));
      };
      const timer = setTimeout(() => {
        finish(() =>
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(events)}`)),
        );
      }, timeoutMs);
      const finish = (done) => {
        clearTimeout(timer);
        waiters.delete(settle);
        done();
      };
      waiters.add(settle);
      settle();
    });
  }
}

/** Rejects with `message` if `promise` has not settled within `ms`. */
export function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Calls `probe` every `intervalMs` until it returns a truthy value, which is returned. */
export async function eventually(probe, { timeoutMs = 5_000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() >= deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Awaits `promise`, asserts that it rejected with a TRPCClientError carrying the given
 * `code` (data.code), `httpStatus`, `path` and the matching JSON-RPC number, and returns it.
 */
export async function expectTRPCError(promise, { code, httpStatus, path }) {
  let error;
  try {
    const value = await promise;
    assert.fail(`expected ${code} but the call resolved with ${JSON.stringify(value)}`);
  } catch (err) {
    error = err;
  }
  if (error instanceof assert.AssertionError) throw error;
  assert.ok(error instanceof TRPCClientError, `expected a TRPCClientError, got ${error?.stack ?? error}`);
  assert.equal(error.data?.code, code, `data.code (message: ${error.message})`);
  assert.equal(error.data?.httpStatus, httpStatus, 'data.httpStatus');
  if (path !== undefined) assert.equal(error.data?.path, path, 'data.path');
  if (code in JSONRPC_CODE) assert.equal(error.shape?.code, JSONRPC_CODE[code], 'shape.code');
  assert.equal(typeof error.message, 'string');
  return error;
}

/**
 * Waits for the subscription `updates` (from `recordUpdates`) to fail, asserts that it failed
 * with a TRPCClientError carrying `code` (data.code), `httpStatus` and the matching JSON-RPC
 * number, and returns the error.
 */
export async function expectSubscriptionError(updates, { code, httpStatus, timeoutMs = 5_000 }) {
  const error = await updates.waitForError({ timeoutMs });
  assert.ok(error instanceof TRPCClientError, `expected a TRPCClientError, got ${error?.stack ?? error}`);
  assert.equal(error.data?.code, code, `data.code (message: ${error.message})`);
  if (httpStatus !== undefined) assert.equal(error.data?.httpStatus, httpStatus, 'data.httpStatus');
  if (code in JSONRPC_CODE) assert.equal(error.shape?.code, JSONRPC_CODE[code], 'shape.code');
  return error;
}

/** A name no other run or test uses, for resources a test creates. */
export function uniqueName(prefix) {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** The seeded project called `name`, looked up through `projects.getAll`. */
export async function seededProject(client, name) {
  const projects = await client.projects.getAll.query();
  const project = projects.find((p) => p.name === name);
  assert.ok(project, `no project named ${name} in ${JSON.stringify(projects.map((p) => p.name))}`);
  assert.equal(typeof project.id, 'string');
  assert.notEqual(project.id, '');
  return project;
}
