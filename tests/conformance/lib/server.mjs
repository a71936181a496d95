// Starts the tidings binary on a free port for one test file and stops it again.
//
// `useServer()` registers before/after hooks and returns a handle whose `test()` wraps
// node:test's, so that a failing test prints the server's log lines from its own run.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

import { closeAllSubscriptions, login } from './client.mjs';

/** The bearer token the server is started with; `admin.*` procedures require it. */
export const ADMIN_TOKEN = 'test-token';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const READY_LINE = /listening on (http:\/\/\S+)/;

/** The binary under test: `$TIDINGS_BIN`, else the debug build of the workspace. */
export function binaryPath() {
  return process.env.TIDINGS_BIN || `${REPO_ROOT}target/debug/tidings`;
}

/** The command line every suite uses: quiet simulator, fast ticks, fast polling. */
export function serveArgs() {
  return [
    'serve',
    '--listen', '127.0.0.1:0',
    '--admin-token', ADMIN_TOKEN,
    '--sim-activity', '0',
    '--sim-tick', '100ms',
    '--poll-interval', '200ms',
  ];
}

// Children still running when this process goes away are killed with it.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of running) child.kill('SIGKILL');
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

/**
 * Spawns the server and resolves once it printed its `listening on` line.
 * Rejects (with the captured output) if it exits, fails to spawn, or is not ready in time.
 */
export async function startServer({ bin = binaryPath(), args = serveArgs() } = {}) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { NO_COLOR: '1', ...process.env } });
  running.add(child);
  const lines = [];
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
    child.once('error', () => {
      running.delete(child);
      resolve({ code: null, signal: null });
    });
  });
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(`[stderr] ${line}`));
  const stdout = createInterface({ input: child.stdout });

  const ready = new Promise((resolve, reject) => {
    stdout.on('line', (line) => {
      lines.push(`[stdout] ${line}`);
      const match = READY_LINE.exec(line);
      if (match) resolve(match[1].replace(/\/$/, ''));
    });
    child.once('error', (err) => {
      reject(new Error(`cannot start ${bin}: ${err.message} (build it with \`cargo build -p tidings\` or set TIDINGS_BIN)`));
    });
    exited.then(({ code, signal }) => {
      reject(new Error(`${bin} exited (code ${code}, signal ${signal}) before it was listening\n${lines.join('\n')}`));
    });
    setTimeout(() => {
      reject(new Error(`${bin} printed no "listening on" line within ${READY_TIMEOUT_MS} ms\n${lines.join('\n')}`));
    }, READY_TIMEOUT_MS).unref();
  });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || !running.has(child)) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  let baseUrl;
  try {
    baseUrl = await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    pid: child.pid,
    baseUrl,
    trpcUrl: `${baseUrl}/trpc`,
    /** How many log lines exist so far; pass it to `logsSince`. */
    mark: () => lines.length,
    logsSince: (mark = 0) => lines.slice(mark).join('\n'),
    stop,
  };
}

/**
 * One server for the calling test file. The returned handle exposes `trpcUrl` once the
 * `before` hook ran, `token`: the session of `admin` (who sees every project), logged in
 * through the real client in that hook, `login(user)` for a session of another seeded
 * user, and `test(name, fn)`, which on failure prints the server's output for that test
 * and always closes the subscriptions the test left open.
 */
export function useServer() {
  let server;
  let adminSession;
  before(async () => {
    server = await startServer();
    adminSession = await login(server.trpcUrl, 'admin');
  });
  after(async () => {
    closeAllSubscriptions();
    await server?.stop();
  });
  return {
    get trpcUrl() {
      return server.trpcUrl;
    },
    get baseUrl() {
      return server.baseUrl;
    },
    /** The admin user's session token. */
    get token() {
      return adminSession.token;
    },
    /** Logs `username` in (a new session) and returns `{token, me}`. */
    login(username, options) {
      return login(server.trpcUrl, username, options);
    },
    test(name, fn, options = {}) {
      return test(name, { timeout: 30_000, ...options }, async (t) => {
        const mark = server?.mark() ?? 0;
        try {
          return await fn(t);
        } catch (err) {
          const logs = server?.logsSince(mark) || '(no output)';
          process.stderr.write(`\n--- tidings (pid ${server?.pid}) output during "${name}" ---\n${logs}\n--- end ---\n`);
          throw err;
        } finally {
          closeAllSubscriptions();
        }
      });
    },
  };
}
