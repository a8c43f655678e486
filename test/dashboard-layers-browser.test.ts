// The Audit view and the per-layer pages in Debian's Chromium driven by playwright-core, on a real
// server with data seeded through real syscalls (a vault connection, a memory fact, a mailbox, a
// provisioned SQLite database): each page shows its data with 0 axe-core WCAG 2 A/AA violations and
// no console error (screenshots at 1280×800 in test-artifacts/dashboard/), the audit filter and the
// memory search work from their forms, and the chain verifies from the page. One env, one browser.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { LAYER_SECRET, seedLayers } from '../src/web/testing-layers.ts';
import { openDashboardEnv, type DashboardTestEnv } from '../src/web/testing.ts';
import { checkViews, openLoggedInBrowser } from './dashboard-browser-kit.ts';

const ARTIFACTS = 'test-artifacts/dashboard';

let env: DashboardTestEnv;
let browser: Browser;
let context: BrowserContext;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  env = await openDashboardEnv();
  await seedLayers(env);
  ({ browser, context } = await openLoggedInBrowser(env));
});

after(async () => {
  await browser?.close();
  await env?.close();
});

describe('audit and layer views', () => {
  const views = [
    { name: 'audit', path: '/ui/audit', shows: /provision\.create/ },
    { name: 'audit-verify', path: '/ui/audit/verify', shows: /the chain is intact/ },
    { name: 'layers', path: '/ui/layers', shows: /Provisioning/ },
    {
      name: 'layer-compute',
      path: '/ui/layers/compute',
      shows: /No sandboxes\.[\s\S]*No browser sessions\./,
    },
    { name: 'layer-identity', path: '/ui/layers/identity', shows: /scout@agents\.test/ },
    { name: 'layer-memory', path: '/ui/layers/memory?q=staging+database', shows: /orders-db/ },
    { name: 'layer-tools', path: '/ui/layers/tools', shows: /payments-api/ },
    { name: 'layer-provisioning', path: '/ui/layers/provisioning', shows: /scratch-db[\s\S]*ready/ },
  ];

  it('render their data with 0 WCAG 2 A/AA violations, and are screenshotted at 1280×800', async () => {
    await checkViews(context, views, {
      url: env.url,
      dir: ARTIFACTS,
      also: (main, view) => assert.ok(!main.includes(LAYER_SECRET), `${view.name} shows the vault secret`),
    });
  });

  it('filters the audit from its form, keeping the filter in the URL, and searches memory', async () => {
    const page = await context.newPage();
    await page.goto(`${env.url}/ui/audit`);
    await page.getByLabel('Syscall (name prefix)').fill('tools.vault.put');
    await page.getByLabel('Outcome').selectOption('ok');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=tools\.vault\.put&outcome=ok/);
    assert.equal(await page.locator('tbody tr').count(), 1);
    assert.match(await page.locator('tbody').innerText(), /tools\.vault\.put/);
    await page.goto(`${env.url}/ui/layers/memory`);
    await page.getByLabel('Query').fill('orders database');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=orders\+database/);
    assert.match(await page.locator('#s-results + table').innerText(), /orders-db/);
    await page.close();
  });
});
