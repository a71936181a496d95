// The console end to end: it asks to log in first; two tabs of one browser share one update
// stream; a change made in either tab shows in the other without a reload; when the leader tab
// closes, the other takes the stream over and still updates. Two users in two browsers see
// the changes of their own projects only; a reader is told plainly that it may not change
// anything; logging out (in any tab) returns every tab to the login screen.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  call,
  launchBrowser,
  login,
  loginInPage,
  screenshot,
  settledValue,
  startServer,
} from './harness.mjs';

const LIVE_WITHIN_MS = 2000;

let server;
let browser;
/** The session of an administrator, for the test's own API calls. */
let admin;
let project;
let ops;
const streams = [];
const browsers = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  browsers.push(browser);
  browser.context.on('request', (request) => {
    if (request.url().includes('/trpc/updates.subscribe')) streams.push(request.url());
  });
  admin = await login(server.base, 'admin');
  const projects = await call(server.base, 'projects.getAll', undefined, 'GET', admin);
  project = projects.find((p) => p.name === 'demo') ?? projects[0];
  ops = projects.find((p) => p.name === 'ops');
});

after(async () => {
  const violations = browsers.flatMap((b) => b.cspViolations);
  for (const b of browsers) await b.close();
  server?.stop();
  assert.deepEqual(violations, [], 'the console broke its Content-Security-Policy');
});

/** A new browser (its own cookies: its own session), counting its tRPC requests. */
async function launchUserBrowser() {
  const b = await launchBrowser();
  browsers.push(b);
  const requests = [];
  b.context.on('request', (request) => {
    if (request.url().includes('/trpc/')) requests.push(request.url());
  });
  return { ...b, requests };
}

/** Opens the console on `projectId` in `context` and waits until its stream is live. */
async function openConsole(context = browser.context, projectId = project.id) {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  await page.goto(`${server.base}/#project=${projectId}`);
  await page.getByTestId('connection').getByText('Live').waitFor({ timeout: 30_000 });
  await page.getByTestId('volumes').locator('tbody tr').first().waitFor();
  return page;
}

const roleOf = (page) => page.getByTestId('role').textContent();

/** Creates a volume through the form of `page`. */
async function createVolume(page, name) {
  const form = page.getByRole('form', { name: 'Create volume' });
  await form.getByLabel('Volume name').fill(name);
  await form.getByLabel('Size (GiB)').fill('2');
  await form.getByRole('button', { name: 'Create volume' }).click();
}

/** Waits until `page` lists the volume `name`, at most LIVE_WITHIN_MS, and says how long. */
async function seesVolume(page, name) {
  const started = Date.now();
  await page.getByTestId(`volume-${name}`).waitFor({ timeout: LIVE_WITHIN_MS });
  return Date.now() - started;
}

/** Logs in through the login screen of a new page of `context`, then waits for the console. */
async function logInAndOpen(context, username, projectId) {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  await page.goto(`${server.base}/${projectId ? `#project=${projectId}` : ''}`);
  await loginInPage(page, username);
  await page.getByTestId('user-name').getByText(username).waitFor({ timeout: 10_000 });
  await page.getByTestId('connection').getByText('Live').waitFor({ timeout: 10_000 });
  return page;
}

const notices = (page) => page.getByTestId('notices').locator('li');

test('the console asks to log in first, then serves the project', async () => {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  await page.goto(`${server.base}/#project=${project.id}`);
  assert.equal(await page.title(), 'Tidings console');
  const form = page.getByRole('form', { name: 'Log in' });
  await form.waitFor({ timeout: 30_000 });
  // Without a session the stream was refused once, and is not asked again.
  await page.waitForFunction(() =>
    document.documentElement.dataset.stream?.startsWith('unauthorized'),
  );
  console.log(`screenshot: ${await screenshot(page, 'login')}`);

  await loginInPage(page, 'alice', 'not-her-password');
  await page
    .getByRole('alert')
    .getByText('Wrong user name or password.')
    .waitFor({ timeout: 5000 });

  await loginInPage(page, 'alice');
  await page.getByTestId('user-name').getByText('alice').waitFor({ timeout: 10_000 });
  assert.match(await page.getByTestId('user-access').textContent(), /demo \(member\)/);
  await page.getByTestId('connection').getByText('Live').waitFor({ timeout: 10_000 });
  await page.getByTestId('volumes').locator('tbody tr').first().waitFor();
  assert.equal(await settledValue(page.getByLabel('Project'), project.id), project.id);
  await page.close();
  // Let the lock go before the next test opens its tabs.
  await new Promise((r) => setTimeout(r, 300));
});

test('two tabs share one stream, and a change in either shows in the other within 2 s', async () => {
  streams.length = 0;
  const leader = await openConsole();
  const follower = await openConsole();
  assert.equal(await roleOf(leader), 'leader');
  assert.equal(await roleOf(follower), 'follower');
  assert.equal(streams.length, 1, `one SSE connection for two tabs, saw ${streams.join(', ')}`);

  await createVolume(leader, 'e2e-from-leader');
  const toFollower = await seesVolume(follower, 'e2e-from-leader');
  console.log(`follower saw the leader's volume after ${toFollower} ms`);

  await createVolume(follower, 'e2e-from-follower');
  const toLeader = await seesVolume(leader, 'e2e-from-follower');
  console.log(`leader saw the follower's volume after ${toLeader} ms`);

  const notices = follower.getByTestId('notices').locator('li');
  assert.ok((await notices.count()) >= 2, 'the follower lists the notices it heard');
  assert.equal(streams.length, 1, 'still one SSE connection');

  // An instance build, for the screenshots' progress bars.
  const form = leader.getByRole('form', { name: 'Create instance' });
  await form.getByLabel('Instance name').fill('e2e-web');
  await form.getByRole('button', { name: 'Create instance' }).click();
  await follower.getByTestId('instance-e2e-web').waitFor({ timeout: LIVE_WITHIN_MS });
  await follower.getByRole('progressbar').first().waitFor({ timeout: LIVE_WITHIN_MS });
  console.log(`screenshot: ${await screenshot(leader, 'leader')}`);
  console.log(`screenshot: ${await screenshot(follower, 'follower')}`);

  // The leader closes: the follower takes the stream over, resuming, and still updates.
  await leader.close();
  await follower.getByTestId('role').getByText('leader').waitFor({ timeout: 5000 });
  await follower.getByTestId('connection').getByText('Live').waitFor({ timeout: 5000 });
  assert.equal(streams.length, 2, 'the new leader opened the one new stream');
  assert.match(streams[1], /lastEventId/, 'the new leader resumes after the last event id');

  await call(
    server.base,
    'volumes.create',
    { projectId: project.id, name: 'e2e-after-takeover', sizeGb: 1 },
    'POST',
    admin,
  );
  const afterTakeover = await seesVolume(follower, 'e2e-after-takeover');
  console.log(`the new leader saw an API-made volume after ${afterTakeover} ms`);
  console.log(`screenshot: ${await screenshot(follower, 'takeover')}`);
  await follower.close();
});

test('alice sees a change in demo live; bob, in ops, receives nothing of it', async () => {
  const alice = await launchUserBrowser();
  const bob = await launchUserBrowser();
  const alicePage = await logInAndOpen(alice.context, 'alice', project.id);
  const bobPage = await logInAndOpen(bob.context, 'bob');
  assert.equal(await settledValue(bobPage.getByLabel('Project'), ops.id), ops.id, 'bob sees ops');
  assert.deepEqual(
    await bobPage.getByLabel('Project').locator('option').allTextContents(),
    ['ops'],
    'bob is offered his project only',
  );
  await bobPage
    .getByTestId('volumes')
    .getByText(/No volumes|GiB/)
    .first()
    .waitFor();
  // Let bob's first fetches settle, then count what he asks for from now on.
  await bobPage.waitForTimeout(500);
  const bobNoticesBefore = await notices(bobPage).count();
  const bobRequestsBefore = bob.requests.length;

  await createVolume(alicePage, 'e2e-alice-demo');
  const toAlice = await seesVolume(alicePage, 'e2e-alice-demo');
  console.log(`alice saw her volume after ${toAlice} ms`);
  await alicePage
    .getByTestId('notices')
    .getByText('in demo')
    .first()
    .waitFor({ timeout: LIVE_WITHIN_MS });

  // The volume's notices (volumes, progress, its status settling) are all of demo.
  await bobPage.waitForTimeout(1500);
  assert.equal(await notices(bobPage).count(), bobNoticesBefore, 'bob heard no notice of demo');
  assert.deepEqual(
    bob.requests.slice(bobRequestsBefore),
    [],
    'bob refetched nothing for a change in demo',
  );

  // Bob's stream is live all the same: a change in ops reaches him, and not alice.
  await call(
    server.base,
    'volumes.create',
    { projectId: ops.id, name: 'e2e-in-ops', sizeGb: 1 },
    'POST',
    admin,
  );
  const toBob = await seesVolume(bobPage, 'e2e-in-ops');
  console.log(`bob saw a volume made in ops after ${toBob} ms`);
  assert.ok((await notices(bobPage).count()) > bobNoticesBefore, 'bob heard the notice of ops');
  await alicePage.waitForTimeout(1000);
  assert.equal(
    (await alicePage.getByTestId('notices').getByText('in ops').count()) +
      (await alicePage
        .getByTestId('notices')
        .getByText(`in ${ops.id.slice(0, 8)}`)
        .count()),
    0,
    'alice heard no notice of ops',
  );
  console.log(`screenshot: ${await screenshot(alicePage, 'alice')}`);
  console.log(`screenshot: ${await screenshot(bobPage, 'bob')}`);

  // Bob logs out: the login screen, and no stream is asked for while it shows.
  await bobPage.getByRole('button', { name: 'Log out' }).click();
  await bobPage.getByRole('form', { name: 'Log in' }).waitFor({ timeout: 5000 });
  await bobPage.waitForFunction(() => document.documentElement.dataset.user === '');
  const afterLogout = bob.requests.length;
  await bobPage.waitForTimeout(2000);
  assert.deepEqual(bob.requests.slice(afterLogout), [], 'nothing asked for on the login screen');

  // Carol, a reader of demo, in the same browser: she may look, and is told she may not change.
  await loginInPage(bobPage, 'carol');
  await bobPage.getByTestId('user-name').getByText('carol').waitFor({ timeout: 10_000 });
  assert.equal(
    await settledValue(bobPage.getByLabel('Project'), project.id),
    project.id,
    'carol sees demo',
  );
  await bobPage.getByTestId('volume-e2e-alice-demo').waitFor({ timeout: 5000 });
  assert.equal(await bobPage.getByTestId('volume-e2e-in-ops').count(), 0, "bob's ops data is gone");
  await createVolume(bobPage, 'e2e-by-carol');
  const refusal = bobPage.getByRole('form', { name: 'Create volume' }).getByRole('alert');
  await refusal.waitFor({ timeout: 5000 });
  const text = await refusal.textContent();
  assert.match(text, /^Not allowed: /);
  assert.match(text, /demo/, `the refusal names the project: ${text}`);
  console.log(`carol was told: ${text}`);
  console.log(`screenshot: ${await screenshot(bobPage, 'reader-forbidden')}`);

  // Alice logs out: back to the login screen.
  await alicePage.getByRole('button', { name: 'Log out' }).click();
  await alicePage.getByRole('form', { name: 'Log in' }).waitFor({ timeout: 5000 });
  await alicePage.getByTestId('login').getByText('alice').waitFor();
});

test('logging out in one tab returns every tab to the login screen; logging in brings them back', async () => {
  // The first tests left alice logged in in this browser.
  const first = await openConsole();
  const second = await openConsole();
  const subscribes = () => streams.length;

  await first.getByRole('button', { name: 'Log out' }).click();
  await first.getByRole('form', { name: 'Log in' }).waitFor({ timeout: 5000 });
  // The other tab hears the stream end UNAUTHORIZED (the server ends the session's streams).
  await second.getByRole('form', { name: 'Log in' }).waitFor({ timeout: 5000 });
  const afterLogout = subscribes();
  await second.waitForTimeout(2000);
  assert.equal(subscribes(), afterLogout, 'no stream is asked for while logged out');

  await loginInPage(second, 'alice');
  await second.getByTestId('connection').getByText('Live').waitFor({ timeout: 10_000 });
  assert.equal(subscribes(), afterLogout + 1, 'one stream reopened for both tabs');
  // The first tab follows: the shared stream opened again, so it asks who is logged in.
  await first.getByTestId('user-name').getByText('alice').waitFor({ timeout: 5000 });
  await first.getByTestId('connection').getByText('Live').waitFor({ timeout: 5000 });
  await first.close();
  await second.close();
});
