// The console end to end: two tabs of one browser share one update stream; a change made in
// either tab shows in the other without a reload; when the leader tab closes, the other takes
// the stream over and still updates.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, launchBrowser, screenshot, startServer } from './harness.mjs';

const LIVE_WITHIN_MS = 2000;

let server;
let browser;
let project;
const streams = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  browser.context.on('request', (request) => {
    if (request.url().includes('/trpc/updates.subscribe')) streams.push(request.url());
  });
  const projects = await call(server.base, 'projects.getAll');
  project = projects.find((p) => p.name === 'demo') ?? projects[0];
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** Opens the console on the demo project and waits until its stream is live. */
async function openConsole() {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  await page.goto(`${server.base}/#project=${project.id}`);
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

test('the console serves at / and shows the project', async () => {
  const page = await openConsole();
  assert.equal(await page.title(), 'Tidings console');
  assert.equal(await page.getByLabel('Project').inputValue(), project.id);
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
  await follower
    .getByTestId('role')
    .getByText('leader')
    .waitFor({ timeout: 5000 });
  await follower.getByTestId('connection').getByText('Live').waitFor({ timeout: 5000 });
  assert.equal(streams.length, 2, 'the new leader opened the one new stream');
  assert.match(streams[1], /lastEventId/, 'the new leader resumes after the last event id');

  await call(server.base, 'volumes.create', { projectId: project.id, name: 'e2e-after-takeover', sizeGb: 1 }, 'POST');
  const afterTakeover = await seesVolume(follower, 'e2e-after-takeover');
  console.log(`the new leader saw an API-made volume after ${afterTakeover} ms`);
  console.log(`screenshot: ${await screenshot(follower, 'takeover')}`);
  await follower.close();
});
