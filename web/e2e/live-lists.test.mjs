// End-to-end: filtered, sorted resource lists stay true under live churn. The truth is a fresh
// REST read with the same filter and sort: within a second of the last change reaching the
// browser, the table (rows, their order and health, the count, and the health chips' counts)
// must equal it.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch, login, newPage } from './browser.mjs';
import { startStack } from './stack.mjs';

const SHOTS = join(import.meta.dirname, 'screenshots');
let stack, browser, page;
/** When the browser last received a `change` frame (node's clock; the page shares it). */
let lastChange = 0;

async function churn(rate) {
  const r = await fetch(`${stack.simAdmin}/clusters/all/churn?rate=${rate}`, { method: 'POST' });
  assert.ok(r.ok, `churn ${rate}: ${r.status}`);
}

/** Wait until no change has reached the browser for `quietMs`. */
async function settled(quietMs = 2000, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() - lastChange < quietMs) {
    assert.ok(Date.now() < until, 'the stream settles');
    await sleep(100);
  }
}

/** Records the table's rows (id:health in row order) and count whenever they change. */
function recordTable() {
  const sig = () => {
    const rows = [...document.querySelectorAll('.rbody .rrow[data-id]')]
      .map((r) => [Number(r.getAttribute('aria-rowindex')), `${r.getAttribute('data-id')}:${r.getAttribute('data-health')}`])
      .sort((a, b) => a[0] - b[0])
      .map((x) => x[1]);
    const count = document.querySelector('[data-testid=resource-count]')?.textContent?.trim() ?? '';
    const chips = [...document.querySelectorAll('[data-testid^=health-count-]')].map((c) => `${c.dataset.testid.slice(13)}:${c.textContent}`);
    return JSON.stringify({ rows, count, chips });
  };
  window.__snaps = [];
  let last = '';
  const tick = () => {
    const s = sig();
    if (s !== last) {
      last = s;
      window.__snaps.push({ t: Date.now(), sig: s });
    }
  };
  tick();
  window.__tableTimer = setInterval(tick, 20);
}

// The UI's chip order: the severity order the server sorts by (flux::Health::SEVERITY).
const HEALTHS = ['failed', 'stalled', 'progressing', 'unknown', 'suspended', 'ready'];

/** The table as a fresh REST read says it should be: rows, count, and each health chip's count. */
async function restSignature(query) {
  const list = (await stack.api(`/api/v1/resources?${query}&limit=1000`)).body;
  const others = new URLSearchParams(query);
  others.delete('health');
  const chips = [];
  for (const h of HEALTHS) {
    const n = (await stack.api(`/api/v1/resources?${others}&health=${h}&limit=1`)).body.total;
    chips.push(`${h}:${n.toLocaleString('en-US')}`);
  }
  const n = list.total;
  const count = `${n.toLocaleString('en-US')} object${n === 1 ? '' : 's'}`;
  return { total: n, sig: JSON.stringify({ rows: list.items.map((r) => `${r.id}:${r.health}`), count, chips }) };
}

/**
 * Open the table at `query`, churn the fleet, stop, and check that the table reached the REST
 * answer within a second of the last change the browser received, and stayed there.
 */
async function churnAndCompare(query, { seconds = 8, rate = 15 } = {}) {
  await page.goto(`/resources?${query}`);
  await page.getByTestId('resource-count').filter({ hasText: /object/ }).waitFor();
  await page.getByTestId('health-count-ready').waitFor();
  await page.evaluate(recordTable);
  await churn(rate);
  await sleep(seconds * 1000);
  await churn(0);
  await settled();
  const rest = await restSignature(query);
  assert.ok(rest.total < 60, `${query}: the list fits the tall viewport (${rest.total})`);
  const snaps = await page.evaluate(() => window.__snaps);
  await page.evaluate(() => clearInterval(window.__tableTimer));
  const final = snaps.at(-1);
  assert.ok(snaps.length > 1, `${query}: the table changed under churn`);
  assert.equal(final.sig, rest.sig, `${query}: the table and its health chips equal a fresh REST read`);
  const lag = final.t - lastChange;
  console.log(`${query}: ${snaps.length - 1} table states under churn; final state ${lag} ms after the last change (REST total ${rest.total})`);
  assert.ok(lag < 1000, `${query}: the table settled ${lag} ms after the last change`);
  return rest;
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ clusters: 2, objects: 3 });
  for (const i of [1, 2]) {
    const r = await stack.api('/api/v1/clusters', { method: 'POST', body: JSON.stringify({ name: `sim-${i}`, kubeconfig: stack.kubeconfig(i) }) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  // Both clusters listed: 13 kinds × 3 objects each.
  for (let i = 0; ; i++) {
    const total = (await stack.api('/api/v1/resources?limit=1')).body.total;
    if (total === 78) break;
    assert.ok(i < 300, `objects stored (${total})`);
    await sleep(100);
  }
  browser = await launch();
  page = await newPage(browser, stack.url);
  // Tall enough that every row of these lists is rendered by the virtualised table.
  await page.setViewportSize({ width: 1440, height: 2400 });
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string' && JSON.parse(f.payload).type === 'change') lastChange = Date.now();
    }),
  );
  await login(page, stack);
});

after(async () => {
  if (stack) writeFileSync(join(SHOTS, 'live-lists-stack.log'), stack.logText());
  await browser?.close();
  await stack?.stop();
});

test('one cluster, failed only: rows that recover leave, new failures appear, the count stays exact', async () => {
  await churnAndCompare('cluster=sim-1&health=failed&sort=name');
});

test('several health values, newest first: changed rows move to the top, the order stays the server order', async () => {
  await churnAndCompare('health=failed&health=progressing&health=unknown&sort=-updated');
});

test('kinds and a label selector, problems first: membership and order follow every change', async () => {
  await churnAndCompare('kind=Kustomization&kind=HelmRelease&label=team%3Dteam-0&sort=severity');
});

test('after a bulk resume under the Suspended filter the resumed rows leave the table', async () => {
  const some = (await stack.api('/api/v1/resources?kind=Kustomization&cluster=sim-2&limit=3')).body.items;
  for (const r of some) {
    const s = await stack.api(`/api/v1/resources/${r.id}/suspend`, { method: 'POST', body: JSON.stringify({ reason: 'e2e live lists' }) });
    assert.equal(s.status, 202);
  }
  const query = 'health=suspended&kind=Kustomization';
  await page.goto(`/resources?${query}`);
  const before = () => stack.api(`/api/v1/resources?${query}&limit=1000`).then((r) => r.body.total);
  for (let i = 0; (await before()) < 3; i++) {
    assert.ok(i < 100, 'the suspensions are stored');
    await sleep(100);
  }
  const n = await before();
  await page.getByTestId('resource-count').filter({ hasText: `${n} object` }).waitFor();
  await page.getByLabel('Select all loaded rows').check();
  await page.getByRole('region', { name: 'Bulk actions' }).getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('dialog').getByRole('button', { name: `Resume ${n}` }).click();
  await page.waitForFunction((count) => document.querySelectorAll('[data-testid=bulk-item] .phase.ok').length === count, n, { timeout: 20_000 });
  await page.locator('.dialog-foot').getByRole('button', { name: 'Close' }).click();
  await settled(1000);
  assert.equal((await stack.api(`/api/v1/resources?${query}&limit=1`)).body.total, 0);
  // No row is left behind, and the count says so.
  await page.getByText('No objects match these filters').waitFor({ timeout: 1000 });
  assert.equal(await page.locator('.rbody .rrow[data-id]').count(), 0);
  assert.deepEqual(page.problems, []);
});
