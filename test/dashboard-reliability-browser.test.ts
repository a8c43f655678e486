// The Reliability view in Debian's Chromium driven by playwright-core, on a real server seeded with
// faults injected by the runtime's chaos injector (src/web/testing-reliability.ts): the page shows
// the layer's faults and recoveries, the end-to-end rates and the invariants, with 0 axe-core WCAG 2
// A/AA violations and no console error (screenshot at 1280×800 in test-artifacts/dashboard/); its
// window picker is reachable from the keyboard. One env, one browser.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { seedReliability } from '../src/web/testing-reliability.ts';
import { axeViolations, openSeededBrowser, type SeededBrowser } from './dashboard-browser-kit.ts';

let s: SeededBrowser;
before(async () => {
  s = await openSeededBrowser(seedReliability);
});
after(() => s?.close());

it('renders the report with 0 WCAG 2 A/AA violations, screenshotted, and its window from the keyboard', async () => {
  const page = await s.context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${s.env.url}/ui/reliability`);
  assert.match(
    await page.locator('main').innerText(),
    /orchestration[\s\S]*Measured with mechanisms\s*50\.0%[\s\S]*audit chain verified\s*holds/,
  );
  assert.deepEqual(await axeViolations(page), []);
  await page.screenshot({ path: 'test-artifacts/dashboard/reliability.png' });
  await page.getByRole('link', { name: 'Last hour' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/since=1h/);
  assert.equal(await page.locator('[aria-current="page"]', { hasText: 'Last hour' }).count(), 1);
  assert.deepEqual(errors, [], 'no console errors (a CSP violation would be one)');
  await page.close();
});
