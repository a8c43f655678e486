// The Fleet, Supervision tree, Merge queue and Costs views in Debian's Chromium driven by
// playwright-core, on a real server seeded through real syscalls (test/dashboard-fleet-seed.ts: a
// supervisor with a restarted and a failed child, a priced model and tool under a tenant budget, a
// merge queue over real git with a merge, a culprit and a stop): each view shows its data with 0
// axe-core WCAG 2 A/AA violations and no console error (screenshots at 1280×800 in
// test-artifacts/dashboard/), and the nav reaches them in order. One env, one browser.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { checkViews, openLoggedInBrowser } from './dashboard-browser-kit.ts';
import { seedFleet, type FleetSeed } from './dashboard-fleet-seed.ts';

const ARTIFACTS = 'test-artifacts/dashboard';

let seed: FleetSeed;
let browser: Browser;
let context: BrowserContext;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  seed = await seedFleet();
  ({ browser, context } = await openLoggedInBrowser(seed.env));
});

after(async () => {
  await browser?.close();
  await seed?.close();
});

describe('fleet, tree, merge queue and costs views', () => {
  const views = [
    {
      name: 'fleet',
      path: '/ui/fleet',
      shows: /Agents[\s\S]*waiting\s+2[\s\S]*tools[\s\S]*0\.006 of 1\.00 USD/,
    },
    {
      name: 'tree',
      path: '/ui/tree',
      shows: /root[\s\S]*flaky[\s\S]*incarnation 2\s+restarts 1[\s\S]*E_CONFLICT/,
    },
    {
      name: 'merge-queue',
      path: '/ui/mq',
      shows: /E_NOT_FAST_FORWARD[\s\S]*feat-broken[\s\S]*culprit[\s\S]*feat-ok/,
    },
    { name: 'costs', path: '/ui/costs', shows: /dash\.spend\s+completed\s+0\.006[\s\S]*0\.006 of 1\.00 USD/ },
  ];

  it('render their data with 0 WCAG 2 A/AA violations, and are screenshotted at 1280×800', async () => {
    await checkViews(context, views, { url: seed.env.url, dir: ARTIFACTS });
  });

  it('lists them in the nav in order, and the merge queue resumes from its button', async () => {
    const page = await context.newPage();
    page.on('dialog', (d) => void d.accept()); // the resume button asks to confirm
    await page.goto(`${seed.env.url}/ui/mq`);
    const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts();
    const labels = nav.map((t) => t.replace(/\s*\d+$/, '').trim());
    assert.deepEqual(
      labels.filter((l) =>
        ['Needs you', 'Fleet', 'Runs', 'Tree', 'Approvals', 'Merge queue', 'Costs'].includes(l),
      ),
      ['Needs you', 'Fleet', 'Runs', 'Tree', 'Approvals', 'Merge queue', 'Costs'],
    );
    seed.restoreMain();
    await page.getByRole('button', { name: 'Resume queue app' }).click();
    await page.waitForURL(/done=mq\.resume/);
    assert.equal(await page.getByRole('button', { name: 'Resume queue app' }).count(), 0);
    await page.close();
  });
});
