// The deployment the README documents, tested as documented: Debian's nginx with
// docs/deploy/nginx.conf (only its ports changed) in front of two `tidings serve` sharing one
// redis-server and one `tidings sim`, all on 127.0.0.1, nginx on a port other than 80. First the
// configuration as the README had it (`proxy_set_header Host $host`, no X-Forwarded-Host): a
// browser login through it is refused; then the current one: a browser login passes, and the
// console's whole end-to-end suite (web-client/e2e/console.test.mjs) runs through nginx.
// Every process is a child with its files under target/deploy/, stopped by its pid at the end.
// Run with `just test-deploy` (which builds the binary and the console and installs nginx).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, loginInPage } from '../../web-client/e2e/harness.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WORK = join(REPO, 'target/deploy');
const BIN = process.env.TIDINGS_BIN ?? join(REPO, 'target/debug/tidings');
const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
const SITE = join(REPO, 'docs/deploy/nginx.conf');
const CONSOLE = join(REPO, 'web-client/console/dist');

/** Children still running, stopped by pid at the end. */
const children = new Set();

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Starts `command` as a child logging to target/deploy/<name>.log. */
function start(name, command, args) {
  const log = openSync(join(WORK, `${name}.log`), 'a');
  const child = spawn(command, args, { stdio: ['ignore', log, log], env: { ...process.env, RUST_LOG: 'warn' } });
  child.name = name;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stops `child` by its pid (SIGTERM, then SIGKILL after 5 s) and waits for it. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Waits until `check()` is true, for up to 30 s; fails naming `what` and its log. */
async function waitFor(what, child, check) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = readFileSync(join(WORK, `${child.name}.log`), 'utf8');
  throw new Error(`${what} did not come up (exit ${child.exitCode}):\n${log}`);
}

const accepts = (port) =>
  new Promise((ok) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => ok(socket.end() && true));
    socket.once('error', () => ok(false));
  });
const answers200 = (url) => fetch(url).then((r) => r.ok);

/** `text` with `from` replaced by `to`, which must occur exactly once (else the README's file
 * changed shape and this test no longer tests it). */
function replaceOnce(text, from, to) {
  assert.equal(text.split(from).length, 2, `${SITE} should contain ${JSON.stringify(from)} once`);
  return text.replace(from, to);
}

/** The README's configuration with the test's ports. */
function site(ports) {
  let text = readFileSync(SITE, 'utf8');
  text = replaceOnce(text, 'server 127.0.0.1:8080;', `server 127.0.0.1:${ports.a};`);
  text = replaceOnce(text, 'server 127.0.0.1:8090;', `server 127.0.0.1:${ports.b};`);
  return replaceOnce(text, 'listen 80;', `listen 127.0.0.1:${ports.nginx};`);
}

/** The configuration as the README had it: `Host $host` (the port dropped), no X-Forwarded-Host. */
function siteBefore(current) {
  const host = /^ *proxy_set_header Host \$http_host;.*$/m;
  const forwardedHost = /^ *proxy_set_header X-Forwarded-Host \$http_host;.*\n/m;
  assert.match(current, host);
  assert.match(current, forwardedHost);
  return current.replace(host, '        proxy_set_header Host $host;').replace(forwardedHost, '');
}

/** Starts nginx in the foreground (a child: its pid is the master's) with `siteText`. */
async function startNginx(name, siteText, port) {
  const prefix = join(WORK, name);
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  writeFileSync(join(prefix, 'site.conf'), siteText);
  const temp = (kind) => `${kind}_temp_path ${join(prefix, kind)};`;
  writeFileSync(
    join(prefix, 'nginx.conf'),
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${join(prefix, 'nginx.pid')};`,
      `error_log ${join(prefix, 'logs/error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      `  access_log ${join(prefix, 'logs/access.log')};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${temp(kind)}`),
      `  include ${join(prefix, 'site.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const nginx = start(name, NGINX, ['-p', prefix, '-e', join(prefix, 'logs/error.log'), '-c', join(prefix, 'nginx.conf')]);
  await waitFor(name, nginx, () => accepts(port));
  return nginx;
}

/** Logs in as alice through the console's login screen at `base`; the answer's HTTP status,
 * and the Content-Security-Policy violations the page reported. */
async function browserLogin(base) {
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${base}/`);
    const answer = page.waitForResponse((r) => r.url().includes('/trpc/auth.login'));
    await loginInPage(page, 'alice');
    const status = (await answer).status();
    if (status === 200) await page.getByTestId('user-name').getByText('alice').waitFor({ timeout: 10_000 });
    return { status, csp: [...browser.cspViolations] };
  } finally {
    await browser.close();
  }
}

/** Runs the console's end-to-end suite against `base`; whether it passed. */
function consoleSuite(base) {
  const suite = join(REPO, 'web-client/e2e/console.test.mjs');
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', suite], {
    stdio: 'inherit',
    env: { ...process.env, TIDINGS_E2E_BASE: base },
  });
  children.add(child);
  return new Promise((done) => child.once('exit', (code) => done(code === 0)));
}

async function main() {
  for (const [path, hint] of [
    [BIN, 'cargo build -p tidings'],
    [join(CONSOLE, 'index.html'), 'npm run build -w web-client/console'],
    [NGINX, 'apt-get install -y nginx'],
  ]) {
    if (!existsSync(path)) throw new Error(`${path} is missing: ${hint}`);
  }
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const ports = { redis: 0, sim: 0, a: 0, b: 0, nginx: 0 };
  for (const key of Object.keys(ports)) ports[key] = await freePort();

  const redis = start('redis', 'redis-server', ['--port', `${ports.redis}`, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await waitFor('redis-server', redis, () => accepts(ports.redis));
  const sim = start('sim', BIN, ['sim', '--listen', `127.0.0.1:${ports.sim}`, '--sim-activity', '0']);
  await waitFor('tidings sim', sim, () => accepts(ports.sim));
  for (const port of [ports.a, ports.b]) {
    // As the README runs them, plus the e2e's admin token and a quick poll.
    const instance = start(`tidings-${port}`, BIN, [
      'serve',
      '--listen', `127.0.0.1:${port}`,
      '--upstream', `http://127.0.0.1:${ports.sim}/identity/v3`,
      '--bus', `redis://127.0.0.1:${ports.redis}`,
      '--trusted-proxies', '127.0.0.1',
      '--console-dir', CONSOLE,
      '--admin-token', 'test-token',
      '--poll-interval', '500ms',
    ]);
    await waitFor(`tidings serve on ${port}`, instance, () => answers200(`http://127.0.0.1:${port}/readyz`));
  }
  const base = `http://127.0.0.1:${ports.nginx}`;
  const current = site(ports);

  const before = await startNginx('nginx-before', siteBefore(current), ports.nginx);
  const refused = await browserLogin(base);
  await stop(before);
  console.log(`# the README's former configuration: browser login answered ${refused.status}`);
  assert.equal(refused.status, 403, 'a login through the former configuration should be refused');

  const nginx = await startNginx('nginx', current, ports.nginx);
  const passed = await browserLogin(base);
  console.log(`# docs/deploy/nginx.conf: browser login answered ${passed.status}`);
  assert.equal(passed.status, 200, 'a login through docs/deploy/nginx.conf should pass');
  assert.deepEqual(passed.csp, [], 'the console broke its Content-Security-Policy');
  const suite = await consoleSuite(base);
  await stop(nginx);
  assert.ok(suite, 'the console end-to-end suite failed through nginx');
  console.log('# the console end-to-end suite passed through nginx in front of two instances');
}

try {
  await main();
} finally {
  for (const child of [...children].reverse()) await stop(child);
}
