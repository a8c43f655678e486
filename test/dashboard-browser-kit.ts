/**
 * Test support for the dashboard's browser tests: Debian's Chromium at 1280×800 with a context
 * logged in to the dashboard, and axe-core's WCAG 2 A/AA violations on a page (evaluated over CDP,
 * so the page's CSP, `default-src 'self'`, allows it) as `id: targets` lines.
 */
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
