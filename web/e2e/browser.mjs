// Debian's Chromium driven by playwright-core (never a downloaded browser).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run',
    ],
    // playwright launches with a fresh temporary profile (--user-data-dir) of its own each time.
  });
}

/** A page that fails the test on CSP violations and uncaught errors (collected in `problems`). */
export async function newPage(browser, url, { colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ baseURL: url, viewport: { width: 1440, height: 900 }, colorScheme });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) page.problems.push('console: ' + m.text());
  });
  return page;
}

/**
 * Sign in (when authentication is on): a session cookie from `POST /api/v1/session`, as the
 * login page would set it.
 */
export async function login(page, stack) {
  if (!stack.auth) return;
  const r = await fetch(stack.url + '/api/v1/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: stack.adminToken }),
  });
  if (!r.ok) throw new Error(`login: ${r.status} ${await r.text()}`);
  const [pair] = (r.headers.get('set-cookie') ?? '').split(';');
  const [name, value] = pair.split('=');
  await page.context().addCookies([{ name, value, url: stack.url, httpOnly: true, sameSite: 'Strict' }]);
}
