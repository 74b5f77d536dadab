// End-to-end: notifications made in the UI. An admin creates a webhook sink and a rule on the
// Notifications page; two simulated Kustomizations fail within the rule's window and the page's
// delivery log shows ONE grouped message, which the local receiver got, signed; recovery sends
// the resolve.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch, login, newPage } from './browser.mjs';
import { startStack } from './stack.mjs';

const SHOTS = join(import.meta.dirname, 'screenshots');
const SECRET = 'e2e-webhook-secret-0123456789';
let stack, browser, page, receiver;
/** What the receiver got: parsed bodies, their signatures checked. */
const received = [];
/** Two Kustomizations of the simulated cluster: { namespace, name }. */
let targets;

async function shoot(name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(100);
    await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

function setReady({ namespace, name }, ready) {
  const condition = ready
    ? { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'e2e: ready' }
    : { type: 'Ready', status: 'False', reason: 'HealthCheckFailed', message: 'e2e: failing' };
  condition.lastTransitionTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  stack.kubectl(['-n', namespace, 'patch', 'kustomization', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [condition] } })]);
}

async function health({ namespace, name }) {
  const r = await stack.api(`/api/v1/resources?kind=Kustomization&namespace=${namespace}&q=${name}`);
  return r.body.items.find((x) => x.name === name)?.health;
}

async function until(what, check, tries = 300) {
  for (let i = 0; !(await check()); i++) {
    assert.ok(i < tries, what);
    await sleep(100);
  }
}

function startReceiver() {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const ts = req.headers['x-fluxo-timestamp'];
        const mac = createHmac('sha256', SECRET).update(`${ts}.`).update(body).digest('hex');
        assert.equal(req.headers['x-fluxo-signature'], `sha256=${mac}`);
        received.push(JSON.parse(body.toString()));
        res.writeHead(204).end();
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  receiver = await startReceiver();
  stack = await startStack({ clusters: 1, objects: 3 });
  const r = await stack.api('/api/v1/clusters', { method: 'POST', body: JSON.stringify({ name: 'sim-1', kubeconfig: stack.kubeconfig(1) }) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await until('Kustomizations are stored', async () => {
    const list = await stack.api('/api/v1/resources?kind=Kustomization&limit=10');
    targets = list.body.items.slice(0, 2).map((x) => ({ namespace: x.namespace, name: x.name }));
    return targets.length === 2;
  });
  for (const t of targets) setReady(t, true);
  for (const t of targets) await until(`${t.name} is ready`, async () => (await health(t)) === 'ready');
  browser = await launch();
  page = await newPage(browser, stack.url);
  await login(page, stack);
});

after(async () => {
  if (stack) writeFileSync(join(SHOTS, 'notifications-stack.log'), stack.logText());
  await browser?.close();
  await stack?.stop();
  receiver?.close();
});

test('a sink and a rule made in the UI: two failures → one grouped delivery, recovery → the resolve', async () => {
  await page.goto('/');
  await page.getByRole('link', { name: 'Notifications' }).click();
  await page.getByRole('heading', { name: 'Notifications' }).waitFor();
  const { port } = receiver.address();
  await page.getByLabel('Sink name').fill('e2e-hook');
  await page.getByLabel('Sink URL').fill(`http://127.0.0.1:${port}/hook?token=t0ps3cret`);
  await page.getByLabel('Signing secret').fill(SECRET);
  await page.getByLabel('allow http://').check();
  await page.getByRole('button', { name: 'Create sink' }).click();
  await page.getByRole('table', { name: 'Sinks' }).getByText(`http://127.0.0.1:${port}`).waitFor();
  await page.getByRole('button', { name: 'Test e2e-hook' }).click();
  await page.getByText('answered 204').waitFor();
  assert.equal(received.at(-1).type, 'test');
  await page.getByLabel('Rule name').fill('ks-failed');
  await page.getByLabel('Rule filter').fill('kinds=ks');
  await page.getByLabel('Grouping window (s)').fill('3');
  await page.getByRole('button', { name: 'Create rule' }).click();
  await page.getByRole('table', { name: 'Rules' }).getByText('ks-failed').waitFor();

  for (const t of targets) setReady(t, false);
  const log = page.getByRole('table', { name: 'Deliveries' });
  await log.getByText('failed on 1 cluster').waitFor({ timeout: 30_000 });
  await log.getByText('sent (204)').waitFor();
  const firing = received.filter((m) => m.type === 'firing');
  assert.equal(firing.length, 1, JSON.stringify(received));
  assert.deepEqual(firing[0].items.map((i) => i.name).sort(), targets.map((t) => t.name).sort());
  await shoot('notifications');

  for (const t of targets) setReady(t, true);
  await log.getByText('recovered on 1 cluster').waitFor({ timeout: 30_000 });
  await until('the resolve arrived', async () => received.some((m) => m.type === 'resolved'));
  assert.equal(received.filter((m) => m.type === 'firing').length, 1, 'no second failure message');
});
