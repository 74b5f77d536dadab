// End-to-end: fleet history in the UI. The Timeline shows a new failure live (no reload, no
// polling), and the overview and the resources table show the fleet as it was before it.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch, login, newPage } from './browser.mjs';
import { startStack } from './stack.mjs';

const SHOTS = join(import.meta.dirname, 'screenshots');
let stack, browser, page;
/** A moment when app-0 was ready, just before it failed. */
let beforeFailure;
const failure = `e2e timeline failure ${randomUUID().slice(0, 8)}`;

async function shoot(name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(100);
    await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

function setReady(name, ready, message) {
  const condition = ready
    ? { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message }
    : { type: 'Ready', status: 'False', reason: 'HealthCheckFailed', message };
  condition.lastTransitionTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  stack.kubectl(['-n', 'apps', 'patch', 'kustomization', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [condition] } })]);
}

async function app0() {
  const r = await stack.api('/api/v1/resources?kind=Kustomization&namespace=apps&q=app-0');
  return r.body.items.find((x) => x.name === 'app-0');
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ clusters: 1, objects: 3 });
  const r = await stack.api('/api/v1/clusters', { method: 'POST', body: JSON.stringify({ name: 'sim-1', kubeconfig: stack.kubeconfig(1) }) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (let i = 0; !(await app0()); i++) {
    assert.ok(i < 300, 'app-0 is stored');
    await sleep(100);
  }
  setReady('app-0', true, 'e2e: ready before the failure');
  for (let i = 0; (await app0()).health !== 'ready'; i++) {
    assert.ok(i < 300, 'app-0 is ready');
    await sleep(100);
  }
  await sleep(1500);
  beforeFailure = new Date().toISOString();
  await sleep(1500);
  browser = await launch();
  page = await newPage(browser, stack.url);
  await login(page, stack);
});

after(async () => {
  if (stack) writeFileSync(join(SHOTS, 'timeline-stack.log'), stack.logText());
  await browser?.close();
  await stack?.stop();
});

test('the Timeline shows a new failure live, without reload or polling', async () => {
  let reads = 0;
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === '/api/v1/timeline') reads++;
  });
  await page.goto('/timeline');
  await page.locator('.timeline li').first().waitFor();
  await page.getByTestId('timeline-live').waitFor();
  // Quiet fleet: nothing is read again (the page used to poll every 5 s).
  const quiet = reads;
  await sleep(6000);
  assert.equal(reads, quiet, 'no timeline reads while nothing changes');

  const start = Date.now();
  setReady('app-0', false, failure);
  await page.waitForFunction((text) => document.querySelector('.timeline')?.textContent?.includes(text), failure, { timeout: 10_000 });
  const ms = Date.now() - start;
  console.log(`the failure reached the Timeline in ${ms} ms`);
  const top = page.locator('.timeline > li').first();
  assert.match(await top.textContent(), /app-0/, 'the new entry is at the top');
  assert.ok(page.problems.length === 0, page.problems.join('\n'));
  await shoot('timeline');
});

test('the history tab links to the Timeline filtered to the object', async () => {
  const id = (await app0()).id;
  await page.goto(`/resources/${id}?tab=history`);
  await page.getByTestId('history-timeline').click();
  await page.waitForURL((u) => u.pathname === '/timeline' && u.searchParams.get('q') === 'app-0' && u.searchParams.get('cluster') === 'sim-1');
  await page.waitForFunction((text) => document.querySelector('.timeline')?.textContent?.includes(text), failure);
  const names = await page.locator('.timeline a').allTextContents();
  assert.ok(names.length > 0 && names.every((n) => n.endsWith('/apps/app-0')), names.join(', '));
});

test('the overview shows the fleet as it was before the failure, and goes back to live', async () => {
  await page.goto('/');
  await page.locator('table.failing').getByRole('link', { name: 'apps/app-0' }).waitFor();
  // The slider moves back in time and puts asOf in the URL.
  await page.locator('#asof-slider').focus();
  await page.keyboard.press('ArrowLeft');
  await page.waitForURL((u) => u.searchParams.has('asOf'));
  await page.getByTestId('asof-banner').waitFor();

  // A shared link to the moment before the failure.
  await page.goto(`/?asOf=${encodeURIComponent(beforeFailure)}`);
  await page.getByText(/Historical view — the fleet as of/).waitFor();
  await page.locator('.cluster-card').first().waitFor();
  await page.locator('#failing-h', { hasText: 'Failing then' }).waitFor();
  await page.waitForFunction(() => !document.querySelector('[aria-busy=true]'));
  assert.equal(await page.locator('table.failing').getByRole('link', { name: 'apps/app-0' }).count(), 0, 'app-0 was not failing then');
  await shoot('overview-asof');

  await page.goto(`/resources?kind=Kustomization&namespace=apps&asOf=${encodeURIComponent(beforeFailure)}`);
  const row = page.locator('.rbody .rrow[data-id]', { hasText: 'app-0' });
  await row.waitFor();
  assert.equal(await row.getAttribute('data-health'), 'ready', 'the table shows app-0 as it was');

  await page.getByRole('button', { name: 'Back to live' }).click();
  await page.waitForURL((u) => !u.searchParams.has('asOf'));
  await page.locator('.rbody .rrow[data-id][data-health=failed]', { hasText: 'app-0' }).waitFor();
  assert.ok(page.problems.length === 0, page.problems.join('\n'));
});
