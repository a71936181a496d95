// End-to-end harness: Debian's Chromium (installed when missing), the tidings binary on a free
// port serving the built console, and a headless browser with a fresh profile.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const WEB_CLIENT = resolve(here, '..');
export const REPO = resolve(WEB_CLIENT, '..');
export const ARTIFACTS = join(here, 'artifacts');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Installs Debian's chromium when /usr/bin/chromium is missing (as root, else with sudo). */
export function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  const root = process.getuid?.() === 0;
  const run = (args) => {
    const [cmd, ...rest] = root ? args : ['sudo', ...args];
    const result = spawnSync(cmd, rest, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.status !== 0) throw new Error(`${args.join(' ')} failed (${result.status})`);
  };
  console.log(`# ${CHROMIUM} is missing: installing Debian's chromium`);
  run(['apt-get', 'update']);
  run(['apt-get', 'install', '-y', 'chromium']);
  if (!existsSync(CHROMIUM))
    throw new Error(`apt-get installed chromium but ${CHROMIUM} is missing`);
}

/** The built console (`npm run build -w web-client/console`). */
export const CONSOLE_DIR = join(WEB_CLIENT, 'console/dist');

/**
 * Starts `tidings serve` on a free port serving the app built in `consoleDir` (default: the
 * console) at `/`; resolves once it is ready. The binary is $TIDINGS_BIN, else
 * target/debug/tidings (`cargo build -p tidings`). With $TIDINGS_E2E_BASE (e.g.
 * http://127.0.0.1:8480, a proxy in front of servers started elsewhere: `just test-deploy`),
 * starts nothing and runs against that.
 */
export async function startServer({ consoleDir = CONSOLE_DIR } = {}) {
  const external = process.env.TIDINGS_E2E_BASE;
  if (external) return { base: external.replace(/\/$/, ''), pid: undefined, stop() {} };
  const bin = process.env.TIDINGS_BIN ?? join(REPO, 'target/debug/tidings');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run cargo build -p tidings`);
  if (!existsSync(join(consoleDir, 'index.html'))) {
    throw new Error(`${consoleDir} has no index.html: run npm run build -w web-client/console`);
  }
  const child = spawn(
    bin,
    [
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--sim-activity',
      '0',
      '--admin-token',
      'test-token',
      '--poll-interval',
      '500ms',
      '--console-dir',
      consoleDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } },
  );
  const stderr = [];
  child.stderr.on('data', (chunk) => stderr.push(chunk));
  const base = await new Promise((resolveBase, reject) => {
    const timer = setTimeout(() => reject(new Error('tidings did not start in 30 s')), 30_000);
    child.once('exit', (code) =>
      reject(new Error(`tidings exited (${code}): ${Buffer.concat(stderr).toString()}`)),
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolveBase(match[1]);
      }
    });
  });
  for (let i = 0; i < 200; i++) {
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    pid: child.pid,
    stop() {
      if (child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    },
  };
}

/** A headless Chromium context with a fresh profile; pages in it are tabs of one browser. */
export async function launchBrowser() {
  ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'tidings-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1360, height: 900 },
  });
  // What Chromium refuses under the console's Content-Security-Policy (an inline script or
  // style, a foreign connection): each would be a broken console.
  const cspViolations = [];
  context.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
  });
  return {
    context,
    cspViolations,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under e2e/artifacts/. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Logs `username` (password: the same, as the simulator seeds them) in over plain HTTP; returns the session cookie. */
export async function login(base, username, password = username) {
  const response = await fetch(`${base}/trpc/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`auth.login as ${username}: ${JSON.stringify(body)}`);
  const cookie = response.headers.get('set-cookie')?.split(';')[0];
  if (!cookie?.startsWith('tidings_session='))
    throw new Error(`auth.login set no session cookie: ${cookie}`);
  return cookie;
}

/** The result of a tRPC query or mutation over plain HTTP, with `session` (a cookie from `login`). */
export async function call(base, path, input, method = 'GET', session = undefined) {
  const url =
    method === 'GET'
      ? `${base}/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`
      : `${base}/trpc/${path}`;
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(session ? { cookie: session } : {}) },
    ...(method === 'POST' ? { body: JSON.stringify(input) } : {}),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${JSON.stringify(body)}`);
  return body.result.data;
}

/** Logs in through the console's login screen of `page` (which must show it). */
export async function loginInPage(page, username, password = username) {
  const form = page.getByRole('form', { name: 'Log in' });
  await form.waitFor({ timeout: 30_000 });
  await form.getByLabel('User name').fill(username);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Log in' }).click();
}

/** The value `locator`'s input settles on: waits up to `timeout` ms for it to equal `expected`
 * (a select fills in once its options have loaded), then returns what it holds. */
export async function settledValue(locator, expected, timeout = 5000) {
  const deadline = Date.now() + timeout;
  let value = await locator.inputValue();
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await locator.inputValue();
  }
  return value;
}
