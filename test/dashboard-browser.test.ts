// The dashboard in Debian's Chromium driven by playwright-core, on a real server with a seeded store:
// every view renders its data and has 0 axe-core WCAG 2 A/AA violations (screenshots at 1280×800 in
// test-artifacts/dashboard/), keyboard-only navigation, filters and paging, the bulk flow, an approval
// decided in the page that survives a server restart, and the live stream's resume contract: events
// committed between the render and the subscription reach the page, and a gap too old to replay
// makes it re-render (`reset`).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openDashboardEnv, type DashboardTestEnv } from '../src/web/testing.ts';
import { axeViolations, openLoggedInBrowser } from './dashboard-browser-kit.ts';

const ARTIFACTS = 'test-artifacts/dashboard';

let env: DashboardTestEnv;
let browser: Browser;
let context: BrowserContext;
let approvalRun: string;
let failedRun: string;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  env = await openDashboardEnv();
  approvalRun = await env.start('dash.approve', { question: 'Refund order 77 to the customer?' });
  failedRun = await env.start('dash.quick', { fail: 'seeded' });
  for (let i = 0; i < 55; i++) await env.start('dash.quick', {});
  await env.waitForStatus(failedRun, 'failed');
  await env.pendingApproval(approvalRun);
  ({ browser, context } = await openLoggedInBrowser(env));
});

after(async () => {
  await browser?.close();
  await env?.close();
});

describe('every view', () => {
  const views = (): { name: string; path: string; shows: RegExp }[] => [
    { name: 'needs-you', path: '/ui', shows: /Refund order 77/ },
    { name: 'runs', path: '/ui/runs', shows: /dash\.quick/ },
    { name: 'run-detail', path: `/ui/runs/${failedRun}`, shows: /E_CONFLICT/ },
    { name: 'approvals', path: '/ui/approvals', shows: /Refund order 77/ },
    { name: 'login', path: '/ui/login', shows: /API key/ },
  ];
  it('renders its data with 0 WCAG 2 A/AA violations, and is screenshotted at 1280×800', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    for (const view of views()) {
      await page.goto(`${env.url}${view.path}`);
      assert.match(await page.locator('main').innerText(), view.shows, view.name);
      assert.deepEqual(await axeViolations(page), [], view.name);
      await page.screenshot({ path: `${ARTIFACTS}/${view.name}.png` });
    }
    assert.deepEqual(errors, [], 'no console errors (a CSP violation would be one)');
    await page.close();
  });
});

describe('keyboard', () => {
  it('reaches the content and another view with the keyboard alone', async () => {
    const page = await context.newPage();
    await page.goto(`${env.url}/ui`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'main');
    await page.goto(`${env.url}/ui`);
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate('document.activeElement?.textContent?.trim()')) === 'Runs') break;
    }
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/ui\/runs$/);
    await page.close();
  });
});

describe('runs', () => {
  it('keeps filters in the URL and pages through them', async () => {
    const page = await context.newPage();
    await page.goto(`${env.url}/ui/runs`);
    await page.getByLabel('Workflow', { exact: true }).fill('dash.quick');
    await page.getByLabel('Status').selectOption('completed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/workflow=dash\.quick/);
    assert.match(page.url(), /status=completed/);
    const first = await page.locator('tbody tr').count();
    assert.equal(first, 50);
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL(/after=run_/);
    assert.equal(await page.locator('tbody tr').count(), 5);
    const malformed = await page.goto(`${env.url}/ui/runs?errorCode=nope`);
    assert.equal(malformed?.status(), 400);
    assert.match(await page.locator('main').innerText(), /E_INVALID_INPUT/);
    await page.close();
  });

  it('previews a bulk cancel, then confirms it', async () => {
    const runs = [await env.start('dash.sleepy', {}), await env.start('dash.sleepy', {})];
    for (const id of runs) await env.waitForStatus(id, 'waiting');
    const page = await context.newPage();
    await page.goto(`${env.url}/ui/runs?workflow=dash.sleepy&status=waiting`);
    await page.getByRole('combobox', { name: /Bulk action/ }).selectOption('cancel');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/\/ui\/runs\/bulk/);
    assert.equal(await page.locator('#bulk-count').innerText(), '2');
    await page.getByRole('button', { name: 'Cancel 2 runs' }).click();
    await page.waitForURL(/done=/);
    assert.match(await page.locator('main').innerText(), /cancel: 2 runs/);
    for (const id of runs) await env.waitForStatus(id, 'cancelled');
    await page.close();
  });
});

describe('approvals', () => {
  it('decides an approval in the page; the decision and the session survive a server restart', async () => {
    const page = await context.newPage();
    await page.goto(`${env.url}/ui/approvals`);
    const row = page.locator('tr', { hasText: 'Refund order 77' });
    await row.getByLabel('Reason').fill('customer verified');
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(/done=/);
    await env.restart();
    await env.waitForStatus(approvalRun, 'completed');
    await page.goto(`${env.url}/ui/runs/${approvalRun}`);
    const main = await page.locator('main').innerText();
    assert.match(main, /approved by/);
    assert.match(main, /customer verified/);
    await page.close();
  });
});

describe('live updates', () => {
  /** Opens a page whose script is held back until `meanwhile` has run: the window between the
   *  server render and the subscription, where a naive page loses events. */
  async function openHeld(path: string, meanwhile: () => Promise<void>): Promise<Page> {
    const page = await context.newPage();
    await page.addInitScript({
      content: `window.refreshed = 0; document.addEventListener('strata:refreshed', () => window.refreshed++);`,
    });
    await page.route('**/ui/assets/app.js*', async (route) => {
      await meanwhile();
      await route.continue();
    });
    await page.goto(`${env.url}${path}`);
    return page;
  }

  it('shows runs started between the render and the subscription (resume from the rendered seq)', async () => {
    const started: string[] = [];
    const page = await openHeld('/ui/runs?workflow=dash.sleepy', async () => {
      for (let i = 0; i < 5; i++) started.push(await env.start('dash.sleepy', {}));
    });
    await page.locator('#live[data-state="live"]').waitFor();
    for (const id of started) await page.locator(`a[href="/ui/runs/${id}"]`).waitFor({ timeout: 5_000 });
    await page.close();
  });

  it('swaps a pushed view in without writing an inline style (the CSP refuses one)', async () => {
    // htmx settles attributes from the old elements onto the new ones; a style set through the
    // CSSOM (as Playwright's screenshot does to hide the caret) would be copied as a `style`
    // attribute, which `default-src 'self'` refuses with a console error.
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${env.url}/ui/runs?workflow=dash.sleepy`);
    await page.locator('#live[data-state="live"]').waitFor();
    const styled = await page.evaluate<number>(
      `Array.from(document.querySelectorAll('#view [id]'), (e) => e.style.setProperty('caret-color', 'transparent', 'important')).length`,
    );
    assert.ok(styled > 0, 'the view has elements with an id for htmx to settle');
    const id = await env.start('dash.sleepy', {});
    await page.locator(`a[href="/ui/runs/${id}"]`).waitFor({ timeout: 5_000 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('re-renders on a reset when the gap is too old to replay', async () => {
    const page = await openHeld('/ui/runs', () => env.publishNoise(600));
    // Polled from here: waitForFunction evaluates a string with eval, which the page's CSP refuses.
    for (let i = 0; (await page.evaluate<number>('window.refreshed')) === 0; i++) {
      assert.ok(i < 100, 'the page did not re-render after the reset');
      await new Promise((r) => setTimeout(r, 50));
    }
    await page.close();
  });
});
