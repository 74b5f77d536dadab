// End-to-end: the Reliability page on a simulated fleet with failures. One Kustomization
// fails and stays failed, another fails and recovers twice (flapping); the page's table,
// top offenders and uPlot charts show them, and a new failure reaches the page without a
// reload (the stream makes it read the figures again).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch, login, newPage } from './browser.mjs';
import { startStack } from './stack.mjs';

const SHOTS = join(import.meta.dirname, 'screenshots');
let stack, browser, page;

async function shoot(name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

/** The three Kustomizations used, as [namespace, name]; found once the cluster is listed. */
let objs = [];
const label = ([ns, name]) => `sim-1/Kustomization/${ns}/${name}`;

function setReady([ns, name], ready) {
  const condition = ready
    ? { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'e2e: applied' }
    : { type: 'Ready', status: 'False', reason: 'HealthCheckFailed', message: 'e2e: health check failed' };
  condition.lastTransitionTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  stack.kubectl(['-n', ns, 'patch', 'kustomization', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [condition] } })]);
}

async function health([ns, name]) {
  const r = await stack.api(`/api/v1/resources?kind=Kustomization&namespace=${ns}&q=${name}`);
  return r.body.items.find((x) => x.name === name)?.health;
}

async function becomes(obj, want) {
  for (let i = 0; (await health(obj)) !== want; i++) {
    assert.ok(i < 300, `${obj.join('/')} becomes ${want}`);
    await sleep(100);
  }
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ clusters: 1, objects: 3 });
  const r = await stack.api('/api/v1/clusters', { method: 'POST', body: JSON.stringify({ name: 'sim-1', kubeconfig: stack.kubeconfig(1) }) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (let i = 0; objs.length < 3; i++) {
    assert.ok(i < 300, 'three Kustomizations are stored');
    await sleep(100);
    const list = await stack.api('/api/v1/resources?kind=Kustomization&sort=name&limit=3');
    objs = list.body.items.map((x) => [x.namespace, x.name]);
  }
  for (const obj of objs) {
    setReady(obj, true);
    await becomes(obj, 'ready');
  }
  await sleep(1200);
  setReady(objs[0], false);
  await becomes(objs[0], 'failed');
  for (let i = 0; i < 2; i++) {
    setReady(objs[1], false);
    await becomes(objs[1], 'failed');
    await sleep(600);
    setReady(objs[1], true);
    await becomes(objs[1], 'ready');
  }
  browser = await launch();
  page = await newPage(browser, stack.url);
  await login(page, stack);
});

after(async () => {
  if (stack) writeFileSync(join(SHOTS, 'reliability-stack.log'), stack.logText());
  await browser?.close();
  await stack?.stop();
});

test('the Reliability page shows the fleet figures, charts and top offenders', async () => {
  await page.goto('/');
  await page.getByRole('link', { name: 'Reliability' }).click();
  await page.getByTestId('reliability-groups').waitFor();
  const row = page.getByTestId('reliability-groups').locator('tbody tr', { hasText: 'sim-1' });
  await row.waitFor();
  const top = page.getByTestId('reliability-top');
  const offenders = await top.locator('tbody tr a').allTextContents();
  // The simulated fleet fails in places of its own too: ours are among the offenders.
  assert.ok(offenders.includes(label(objs[0])), offenders.join(', '));
  assert.ok(offenders.includes(label(objs[1])), offenders.join(', '));
  const flappy = top.locator('tbody tr', { hasText: label(objs[1]) });
  // Failures, then changes per day: two failures, four changes.
  assert.equal((await flappy.locator('td').nth(5).textContent()).trim(), '2');
  assert.equal(await page.locator('[data-testid="reliability-chart"] canvas').count() >= 3, true, 'three uPlot charts');
  await shoot('reliability');
  await top.locator('a', { hasText: label(objs[0]) }).click();
  await page.waitForURL(/\/resources\/[0-9a-f-]+$/);
});

test('a new failure reaches the page without a reload', async () => {
  await page.goto('/reliability?window=24h&group=object');
  const top = page.getByTestId('reliability-top');
  await top.waitFor();
  const third = top.locator('tbody tr', { hasText: label(objs[2]) });
  assert.equal(await third.count(), 0, 'the third object has not failed yet');
  setReady(objs[2], false);
  await third.waitFor({ timeout: 15_000 });
});
