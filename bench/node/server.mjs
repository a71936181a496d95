// The stock tRPC v11 comparison server of `just bench`: @trpc/server's standalone adapter,
// written the way its documentation shows. It serves what the benchmark asks of Tidings:
//   projects.getAll, compute.instances.getAll  the same payloads (loaded from --data), serialized
//                                              by tRPC per request, as a stock server does;
//   updates.subscribe                          tracked notices over SSE (an EventEmitter fan-out);
//   admin.notify {type, scope?}                the trigger.
// The same router is served over tRPC's WebSocket protocol at ws://HOST/trpc (wsLink).
// Usage: node server.mjs --port 0 --data DIR   (prints "listening 127.0.0.1:PORT")

import { EventEmitter, on } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { initTRPC, tracked } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, data: { type: 'string' } },
});

/** The `data` of a tRPC answer Tidings gave, so this server returns the same value. */
function payload(path) {
  const envelope = JSON.parse(readFileSync(join(values.data, `${path}.json`), 'utf8'));
  return envelope.result.data;
}

const small = payload('projects.getAll');
const big = payload('compute.instances.getAll');

const t = initTRPC.create({
  sse: {
    ping: { enabled: true, intervalMs: 10_000 },
    client: { reconnectAfterInactivityMs: 30_000 },
  },
});

const notices = new EventEmitter();
notices.setMaxListeners(0);
let lastId = 0;

const appRouter = t.router({
  projects: t.router({ getAll: t.procedure.query(() => small) }),
  compute: t.router({
    instances: t.router({ getAll: t.procedure.query(() => big) }),
  }),
  admin: t.router({
    notify: t.procedure
      .input((raw) => {
        if (typeof raw?.type !== 'string') throw new Error('type is required');
        return { type: raw.type, scope: typeof raw.scope === 'string' ? raw.scope : undefined };
      })
      .mutation(({ input }) => {
        lastId += 1;
        notices.emit('notice', lastId, input);
        return { lastEventId: String(lastId) };
      }),
  }),
  updates: t.router({
    subscribe: t.procedure.subscription(async function* ({ signal }) {
      for await (const [id, notice] of on(notices, 'notice', { signal })) {
        yield tracked(String(id), notice);
      }
    }),
  }),
});

const server = createHTTPServer({ router: appRouter, basePath: '/trpc/' });
const wss = new WebSocketServer({ server, path: '/trpc' });
applyWSSHandler({ wss, router: appRouter });
server.listen(Number(values.port), '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`listening ${address}:${port}`);
});
