// End-to-end: what a new user meets in the first minutes (issue 14): the sign-in link the demo
// prints, the favicon, the resources table at 1440 px (one filter line, nothing clipped,
// problems first, counts on the health chips), the clusters page's watch summary.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch, login, newPage } from './browser.mjs';
import { startStack } from './stack.mjs';

const SHOTS = join(import.meta.dirname, 'screenshots');
let stack, browser, page;

async function shoot(name, p = page) {
  for (const scheme of ['light', 'dark']) {
    await p.emulateMedia({ colorScheme: scheme });
    await p.waitForTimeout(100);
    await p.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`) });
  }
  await p.emulateMedia({ colorScheme: 'light' });
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack({ clusters: 1, objects: 3, resyncIntervalSecs: 600 });
  const r = await stack.api('/api/v1/clusters', { method: 'POST', body: JSON.stringify({ name: 'sim-1', kubeconfig: stack.kubeconfig(1), labels: { env: 'demo' } }) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (let i = 0; (await stack.api('/api/v1/resources?limit=1')).body.total !== 39; i++) {
    assert.ok(i < 300, 'the objects are stored');
    await sleep(100);
  }
  browser = await launch();
  page = await newPage(browser, stack.url);
  await login(page, stack);
});

after(async () => {
  if (stack) writeFileSync(join(SHOTS, 'first-run-stack.log'), stack.logText());
  await browser?.close();
  await stack?.stop();
});

test('the printed /login link opens the one styled sign-in page, which opens no stream before signing in', async () => {
  if (!stack.auth) return;
  const p = await newPage(browser, stack.url);
  const sockets = [];
  const errors = [];
  const refused = [];
  p.on('websocket', (ws) => sockets.push(ws.url()));
  p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  p.on('response', (r) => r.status() >= 400 && refused.push(`${r.status()} ${r.url()}`));
  await p.goto('/login?next=%2Fclusters');
  await p.waitForURL((u) => u.pathname === '/signin' && u.search === '?next=%2Fclusters');
  await p.locator('.login-box').getByRole('heading', { name: 'flux-orchestrator' }).waitFor();
  await p.waitForTimeout(1500);
  assert.deepEqual({ sockets, errors, refused }, { sockets: [], errors: [], refused: [] }, 'nothing is refused before signing in');
  await shoot('signin', p);
  await p.locator('input[name=token]').fill(stack.adminToken);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL((u) => u.pathname === '/clusters');
  await p.locator('[data-testid=connection]', { hasText: 'Live' }).waitFor();
  assert.equal(sockets.length, 1, 'one stream, opened after signing in');
  await p.close();
  assert.deepEqual(p.problems, []);
});

test('/favicon.ico is an icon, not a 404', async () => {
  const r = await fetch(stack.url + '/favicon.ico');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'image/x-icon');
  assert.deepEqual([...new Uint8Array(await r.arrayBuffer()).slice(0, 4)], [0, 0, 1, 0]);
});

test('the resources table at 1440 px: one line of filters, nothing clipped, problems first, counted health chips', async () => {
  await page.goto('/resources');
  const total = (await stack.api('/api/v1/resources?limit=1')).body.total;
  await page.getByTestId('resource-count').filter({ hasText: `${total} objects` }).waitFor();
  const layout = await page.evaluate(() => {
    // One line: every control overlaps every other vertically.
    const boxes = [...document.querySelectorAll('.filters input, .filters select')].map((e) => e.getBoundingClientRect());
    const oneLine = boxes.length === 5 && Math.max(...boxes.map((b) => b.top)) < Math.min(...boxes.map((b) => b.bottom));
    const input = document.querySelector('[aria-label="Label selector"]');
    const cs = getComputedStyle(input);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const placeholder = ctx.measureText(input.placeholder).width;
    const room = input.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const clipped = [...document.querySelectorAll('.rhead .rcell')].filter((c) => c.scrollWidth > c.clientWidth).map((c) => c.className);
    const row = document.querySelector('.rbody .rrow[data-id]');
    const misaligned = [...document.querySelectorAll('.rhead .rcell')]
      .map((h) => [h, row.querySelector('.' + [...h.classList].find((c) => c.startsWith('c-')))])
      .filter(([h, b]) => Math.abs(h.getBoundingClientRect().left - b.getBoundingClientRect().left) > 0.5 || Math.abs(h.getBoundingClientRect().right - b.getBoundingClientRect().right) > 0.5)
      .map(([h]) => h.className);
    return { oneLine, placeholder, room, clipped, misaligned };
  });
  assert.ok(layout.oneLine, 'the filter inputs share one line');
  assert.ok(layout.placeholder <= layout.room, `the label placeholder fits (${layout.placeholder} px text, ${layout.room} px room)`);
  assert.deepEqual(layout.clipped, [], 'no header is clipped');
  assert.deepEqual(layout.misaligned, [], 'header and body columns line up');

  // Problems first by default: the server's severity order, worst health and newest first.
  const rest = (await stack.api('/api/v1/resources?sort=severity&limit=1000')).body.items.map((r) => r.id);
  const shown = await page.locator('.rbody .rrow[data-id]').evaluateAll((rows) =>
    rows.sort((a, b) => Number(a.getAttribute('aria-rowindex')) - Number(b.getAttribute('aria-rowindex'))).map((r) => r.getAttribute('data-id')),
  );
  assert.ok(shown.length > 10);
  assert.deepEqual(shown, rest.slice(0, shown.length), 'the default order is problems first');
  assert.equal(await page.locator('.rhead [aria-sort=ascending]').textContent(), 'Health▲');
  await page.getByTestId('health-count-ready').waitFor();
  for (const h of ['failed', 'stalled', 'progressing', 'suspended', 'unknown', 'ready']) {
    const n = (await stack.api(`/api/v1/resources?health=${h}&limit=1`)).body.total;
    assert.equal(await page.getByTestId(`health-count-${h}`).textContent(), String(n), `${h} count`);
  }
  await shoot('resources-default');

  // The longest kind name is not cut.
  await page.goto('/resources?kind=ImageUpdateAutomation');
  await page.locator('.rbody .rrow[data-id]').first().waitFor();
  const cut = await page.locator('.rbody .c-kind').evaluateAll((cells) => cells.filter((c) => c.scrollWidth > c.clientWidth).length);
  assert.equal(cut, 0, 'kind names are whole');
});

test('the clusters page summarises the watches and says when the first backstop relist is due', async () => {
  await page.goto('/clusters');
  const row = page.locator('[data-testid=cluster-row][data-name=sim-1]');
  await row.locator('.state-ready').waitFor({ timeout: 30_000 });
  const kinds = Object.keys((await stack.api('/api/v1/clusters')).body.items[0].status.kinds).length;
  await row.getByTestId('watch-summary').filter({ hasText: `${kinds}/${kinds} watching` }).waitFor();
  assert.equal(await row.locator('summary .kind-state').count(), 1, 'one chip, not one per kind');
  await row.getByText('first backstop relist within 10 min').waitFor();
  assert.equal(await row.getByText('relisted —').count(), 0);
  await shoot('clusters-watches');
  await row.getByTestId('watch-summary').click();
  await row.locator('.kinds-list li', { hasText: 'ImageUpdateAutomation' }).waitFor();
  assert.deepEqual(page.problems, []);
});
