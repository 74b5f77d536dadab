// End-to-end: a new revision of a simulated source spreads across three clusters and the
// Rollouts page follows live (no reload): applied on sim-1, then sim-2, failing on sim-3.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch, login, newPage } from './browser.mjs';
import { startStack } from './stack.mjs';

const SHOTS = join(import.meta.dirname, 'screenshots');
const REVISION = `main@sha1:${randomBytes(20).toString('hex')}`;
let stack, browser, page;

async function shoot(name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(100);
    await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Every consumer of the source on cluster i: Ready at REVISION, or failing at it (still on
 * what it applied before), as a new commit reaches a cluster. */
function roll(i, ready) {
  const condition = ready
    ? { type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: `Applied revision: ${REVISION}` }
    : { type: 'Ready', status: 'False', reason: 'HealthCheckFailed', message: 'e2e: health check failed for the new revision' };
  condition.lastTransitionTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const status = { conditions: [condition], lastAttemptedRevision: REVISION, ...(ready ? { lastAppliedRevision: REVISION } : {}) };
  for (const o of consumers[`sim-${i}`]) {
    stack.kubectl(['-n', o.namespace, 'patch', o.kind.toLowerCase(), o.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })], i);
  }
}

/** The rollout source app-0 consumes (the same on every cluster: names and refs are by index). */
async function source() {
  const r = await stack.api('/api/v1/resources?kind=Kustomization&namespace=apps&q=app-0');
  const app0 = r.body.items.find((x) => x.name === 'app-0');
  if (!app0) return undefined;
  const rollouts = await stack.api(`/api/v1/rollouts?resource=${app0.id}`);
  const s = rollouts.body.items?.[0];
  return s && s.clusters === 3 ? s : undefined;
}

/** The state the page shows for cluster `name` at REVISION (null while not shown). */
async function shown(name) {
  return page.evaluate(
    ([rev, cluster]) => document.querySelector(`[data-testid=rollout-revision][data-revision="${rev}"] [data-cluster="${cluster}"]`)?.getAttribute('data-state') ?? null,
    [REVISION, name],
  );
}

async function waitShown(name, state) {
  await page.waitForFunction(
    ([rev, cluster, want]) => document.querySelector(`[data-testid=rollout-revision][data-revision="${rev}"] [data-cluster="${cluster}"]`)?.getAttribute('data-state') === want,
    [REVISION, name, state],
    { timeout: 15_000 },
  );
}

let key;
/** The source's consumers per cluster name. */
const consumers = {};
before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ clusters: 3, objects: 3 });
  for (const i of [1, 2, 3]) {
    const body = { name: `sim-${i}`, kubeconfig: stack.kubeconfig(i), labels: { env: i < 3 ? 'prod' : 'staging' } };
    const r = await stack.api('/api/v1/clusters', { method: 'POST', body: JSON.stringify(body) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  for (let i = 0; !(key = (await source())?.source); i++) {
    assert.ok(i < 600, 'app-0 and its source are stored on 3 clusters');
    await sleep(100);
  }
  for (const c of (await source()).revisions[0].clusters) consumers[c.cluster] = c.objects;
  browser = await launch();
  page = await newPage(browser, stack.url);
  await login(page, stack);
});

after(async () => {
  if (stack) writeFileSync(join(SHOTS, 'rollouts-stack.log'), stack.logText());
  await browser?.close();
  await stack?.stop();
});

test('a new revision reaches clusters one by one, live, and a failing cluster shows as failing', async () => {
  const url = key.split('|')[1];
  await page.goto(`/rollouts?q=${encodeURIComponent(url)}`);
  await page.getByTestId('rollout-source').first().waitFor();
  let reads = 0;
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === '/api/v1/rollouts') reads++;
  });
  roll(1, true);
  await waitShown('sim-1', 'applied');
  assert.equal(await shown('sim-2'), 'pending');
  roll(2, true);
  await waitShown('sim-2', 'applied');
  roll(3, false);
  await waitShown('sim-3', 'failing');
  const rev = page.locator(`[data-testid=rollout-revision][data-revision="${REVISION}"]`);
  assert.equal(await rev.getByTestId('rollout-bar').getAttribute('aria-label'), `${consumers['sim-1'].length + consumers['sim-2'].length} applied, ${consumers['sim-3'].length} failing`);
  assert.ok(reads >= 3, `the page was read again live (${reads} reads)`);
  await rev.locator('[data-cluster="sim-3"] summary').click();
  await rev.getByText('e2e: health check failed for the new revision').first().waitFor();
  assert.ok(page.problems.length === 0, page.problems.join('\n'));
  await shoot('rollouts');
});

test('a cluster-label filter leaves the other clusters out', async () => {
  await page.goto(`/rollouts?clusterSelector=env%3Dprod&q=${encodeURIComponent(key.split('|')[1])}`);
  await waitShown('sim-2', 'applied');
  assert.equal(await shown('sim-3'), null, 'staging is not shown');
  const rev = page.locator(`[data-testid=rollout-revision][data-revision="${REVISION}"]`);
  assert.equal(await rev.getByTestId('rollout-bar').getAttribute('aria-label'), `${consumers['sim-1'].length + consumers['sim-2'].length} applied`);
});

test("a consumer's detail page links to its rollout", async () => {
  const o = consumers['sim-3'][0];
  await page.goto(`/resources/${o.id}`);
  await page.getByRole('link', { name: 'rollout', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/rollouts' && u.searchParams.get('resource') === o.id);
  await waitShown('sim-3', 'failing');
  assert.equal(await page.getByTestId('rollout-source').count(), 1, 'only the source it consumes');
  assert.ok(page.problems.length === 0, page.problems.join('\n'));
});
