// The packages as a newcomer gets them. Both are packed (`npm pack`, as published), then for
// each consistent set of tRPC packages the registry serves, a fresh app in a temporary
// directory outside the workspace installs the tarballs with plain `npm install` (nothing
// forced: no --legacy-peer-deps, no overrides), type-checks its usage with full inference
// (a wrong input must be rejected), builds with Vite, and runs in headless Chromium against a
// real server: a mutation in one browser refetches the list in another within 2 s.
//   classic   @trpc/react-query 11.19.0 (pins @trpc/client and @trpc/server 11.19.0)
//   tanstack  @trpc/tanstack-react-query 11.22.1 (pins them at 11.22.1)
//   client    no React: the core over @tanstack/query-core, with @trpc/client 11.25.2, in a
//             page and in a Node script (compiled by tsc with Node's module resolution)
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { call, launchBrowser, login, startServer } from '../../web-client/e2e/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '../..');
const APPS = join(here, 'apps');
const LIVE_WITHIN_MS = 2000;
const run = promisify(execFile);

const SETS = [
  { name: 'classic', trpc: '11.19.0', react: true },
  { name: 'tanstack', trpc: '11.22.1', react: true },
  { name: 'client', trpc: '11.25.2', react: false },
];

/** Where the apps are made: a fresh directory outside the workspace, kept when a test failed. */
const work = mkdtempSync(join(tmpdir(), 'tidings-consumer-'));
let failed = false;
/** The packed tarballs, by package name. */
const tarballs = {};
/** Each set's install, started together in `before`. */
const installs = new Map();

/** The environment of npm without what an npm script above this one would pass down. */
function cleanEnv() {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD'),
  );
}

/** Runs `npm args` in `cwd`; fails with npm's output. */
async function npm(args, cwd) {
  try {
    return await run('npm', args, { cwd, env: cleanEnv(), maxBuffer: 64 << 20 });
  } catch (error) {
    throw new Error(`npm ${args.join(' ')} in ${cwd} failed:\n${error.stdout}\n${error.stderr}`, {
      cause: error,
    });
  }
}

/**
 * Copies the seed of `set` (what every app shares, what the React apps share, its own) into the
 * work directory, with the tarballs as dependencies.
 */
function makeApp(set) {
  const dir = join(work, set.name);
  const seeds = ['common', ...(set.react ? ['react'] : []), set.name];
  for (const seed of seeds) cpSync(join(APPS, seed), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const [name, file] of Object.entries(tarballs)) manifest.dependencies[name] = `file:${file}`;
  assert.equal(manifest.overrides, undefined, 'a newcomer has no overrides');
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}

/** The version of `name` installed in the app at `dir`. */
function installed(dir, name) {
  return JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** `[name, value]` of the session cookie of a fresh login as `user`. */
async function sessionCookie(base, user) {
  const [name, value] = (await login(base, user)).split('=');
  return { name, value, url: base };
}

/** A browser logged in as admin with the app open, once its update stream is open. */
async function openApp(base, set) {
  const browser = await launchBrowser();
  await browser.context.addCookies([await sessionCookie(base, 'admin')]);
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${base}/`);
  await page
    .locator(`${set.react ? 'main' : 'body'}[data-stream="open"]`)
    .waitFor({ timeout: 15_000 });
  await page.getByRole('list', { name: 'Volumes' }).waitFor();
  return { browser, page, errors };
}

before(async () => {
  const { stdout } = await npm(
    [
      'pack',
      '--json',
      '-w',
      '@tidings/bindings',
      '-w',
      '@tidings/web-client',
      '--pack-destination',
      work,
    ],
    REPO,
  );
  for (const pack of JSON.parse(stdout)) {
    tarballs[pack.name] = join(work, pack.filename);
    const files = pack.files.map((f) => f.path);
    const stray = files.filter(
      (f) => !/^(package\.json|README\.md|index\.js|index\.d\.ts|dist\/.+\.(js|d\.ts))$/.test(f),
    );
    assert.deepEqual(stray, [], `${pack.name}'s tarball holds only what users need`);
    assert.ok(!files.some((f) => /test|testing/.test(f)), `${pack.name} ships no tests`);
  }
  assert.deepEqual(Object.keys(tarballs).sort(), ['@tidings/bindings', '@tidings/web-client']);
  for (const set of SETS) {
    const dir = makeApp(set);
    const install = npm(['install', '--no-audit', '--no-fund'], dir).then(() => dir);
    install.catch(() => {}); // Reported by the set's own test.
    installs.set(set.name, install);
  }
});

after(() => {
  if (failed) console.log(`# the apps are kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
});

/** Runs `fn` as the subtest `name` of `t`; whether it passed. A failure keeps the apps. */
async function step(t, name, fn) {
  let passed = false;
  await t.test(name, async () => {
    try {
      await fn();
      passed = true;
    } catch (error) {
      failed = true;
      throw error;
    }
  });
  return passed;
}

test('both tarballs pass publint', async (t) => {
  for (const [name, tarball] of Object.entries(tarballs)) {
    await step(t, name, async () => {
      const publint = join(REPO, 'node_modules/.bin/publint');
      const { stdout } = await run(publint, ['run', '--strict', tarball], { env: cleanEnv() });
      assert.match(stdout, /All good/, stdout);
    });
  }
});

for (const set of SETS) {
  test(`${set.name} (tRPC ${set.trpc}): installs, type-checks, builds and refetches live`, async (t) => {
    let dir;
    const steps = [
      [
        'plain npm install resolves every peer, with the set it asked for',
        async () => {
          dir = await installs.get(set.name);
          await npm(['ls', '--all'], dir);
          assert.equal(installed(dir, '@trpc/client'), set.trpc);
          assert.equal(installed(dir, '@trpc/server'), set.trpc);
        },
      ],
      [
        'the compiler infers the usage and rejects wrong input',
        () => npm(['run', 'typecheck'], dir),
      ],
      [
        'Vite builds it',
        async () => {
          await npm(['run', 'build'], dir);
          assert.ok(existsSync(join(dir, 'dist/index.html')));
        },
      ],
      [
        'a mutation in one browser refetches the list in another within 2 s',
        () => inBrowsers(dir, set),
      ],
    ];
    if (set.name === 'client')
      steps.push(['a Node script follows the same changes', () => nodeScript(dir)]);
    for (const [name, fn] of steps) if (!(await step(t, name, fn))) break;
  });
}

/** The app built in `dir`, served by a real server, open in two browsers. */
async function inBrowsers(dir, set) {
  const server = await startServer({ consoleDir: join(dir, 'dist') });
  const opened = [];
  try {
    const writer = await openApp(server.base, set);
    opened.push(writer);
    const reader = await openApp(server.base, set);
    opened.push(reader);
    const name = `consumer-${set.name}-${Date.now()}`;
    const form = writer.page.getByRole('form', { name: 'Create volume' });
    await form.getByLabel('Volume name').fill(name);
    const started = Date.now();
    await form.getByRole('button', { name: 'Create volume' }).click();
    await reader.page
      .getByRole('list', { name: 'Volumes' })
      .getByText(name, { exact: true })
      .waitFor({ timeout: LIVE_WITHIN_MS });
    console.log(
      `${set.name}: the other browser listed the new volume after ${Date.now() - started} ms`,
    );
    assert.deepEqual([...writer.errors, ...reader.errors], [], 'no page error');
  } finally {
    for (const { browser } of opened) await browser.close();
    server.stop();
  }
}

/** The compiled Node script of the `client` app against a real server. */
async function nodeScript(dir) {
  const server = await startServer({ consoleDir: join(dir, 'dist') });
  const child = spawn(process.execPath, ['build/watch.mjs', server.base, 'admin', 'demo'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = [];
  child.stderr.on('data', (chunk) => stderr.push(chunk));
  const lines = [];
  const waiters = new Set();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line));
    for (const waiter of waiters) waiter();
  });
  /** Resolves with the first line that `match`es, within `ms`. */
  const seen = (match, ms) =>
    new Promise((resolveLine, reject) => {
      const check = () => {
        const line = lines.find(match);
        if (!line) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolveLine(line);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`not seen in ${ms} ms; got ${JSON.stringify(lines)} ${stderr.join('')}`));
      }, ms);
      waiters.add(check);
      check();
    });
  try {
    await seen((l) => l.stream === 'open', 15_000);
    await seen((l) => Array.isArray(l.volumes), 5000);
    const session = await login(server.base, 'admin');
    const projects = await call(server.base, 'projects.getAll', undefined, 'GET', session);
    const demo = projects.find((p) => p.name === 'demo');
    const name = `consumer-node-${Date.now()}`;
    const started = Date.now();
    await call(
      server.base,
      'volumes.create',
      { projectId: demo.id, name, sizeGb: 1 },
      'POST',
      session,
    );
    await seen((l) => l.volumes?.includes(name), LIVE_WITHIN_MS);
    console.log(`client: the Node script printed the new volume after ${Date.now() - started} ms`);
  } finally {
    if (child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    server.stop();
  }
}
