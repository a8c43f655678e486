/**
 * Test support for the dashboard's browser tests: Debian's Chromium at 1280×800 with a context
 * logged in to the dashboard, and axe-core's WCAG 2 A/AA violations on a page (evaluated over CDP,
 * so the page's CSP, `default-src 'self'`, allows it) as `id: targets` lines; and the check every
 * view gets (its data, 0 violations, no console error, a screenshot); `openSeededBrowser` opens both
 * for one seeded env.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { DEFAULT_CHROMIUM_PATH } from '../src/compute/index.ts';
import { openDashboardEnv, type DashboardTestEnv } from '../src/web/testing.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Launches Chromium and logs a context in with the env's admin key through the login form. */
export async function openLoggedInBrowser(
  env: DashboardTestEnv,
): Promise<{ browser: Browser; context: BrowserContext }> {
  const browser = await chromium.launch({ executablePath: DEFAULT_CHROMIUM_PATH, headless: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${env.url}/ui/login`);
  await page.getByLabel('API key').fill(env.adminKey);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/ui$/);
  await page.close();
  return { browser, context };
}

export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  // A string, run in the page: this file is type-checked without the DOM library.
  const result = await page.evaluate<{ violations: { id: string; nodes: { target: string[] }[] }[] }>(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })`,
  );
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export interface ViewCheck {
  /** The screenshot's file name (without `.png`). */
  readonly name: string;
  readonly path: string;
  /** What the page's `<main>` must show. */
  readonly shows: RegExp;
}

/**
 * Opens each view of `url` in one page: its `<main>` shows its data (and passes `also`), axe-core
 * finds 0 WCAG 2 A/AA violations, a screenshot goes to `<dir>/<name>.png`; no console error on the way (a
 * CSP violation would be one).
 */
export async function checkViews(
  context: BrowserContext,
  views: readonly ViewCheck[],
  options: { url: string; dir: string; also?: (main: string, view: ViewCheck) => void },
): Promise<void> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  for (const view of views) {
    await page.goto(`${options.url}${view.path}`);
    const main = await page.locator('main').innerText();
    assert.match(main, view.shows, view.name);
    options.also?.(main, view);
    assert.deepEqual(await axeViolations(page), [], view.name);
    await page.screenshot({ path: `${options.dir}/${view.name}.png` });
  }
  assert.deepEqual(errors, [], 'no console errors (a CSP violation would be one)');
  await page.close();
}

export interface SeededBrowser {
  readonly env: DashboardTestEnv;
  readonly browser: Browser;
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** One env seeded by `seed`, and one Chromium logged in to it; the screenshot folder exists. */
export async function openSeededBrowser(
  seed: (env: DashboardTestEnv) => Promise<unknown>,
  screenshots = 'test-artifacts/dashboard',
): Promise<SeededBrowser> {
  mkdirSync(screenshots, { recursive: true });
  const env = await openDashboardEnv();
  await seed(env);
  const { browser, context } = await openLoggedInBrowser(env);
  return {
    env,
    browser,
    context,
    close: async () => {
      await browser.close();
      await env.close();
    },
  };
}
