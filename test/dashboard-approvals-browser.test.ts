// Bulk approve in Debian's Chromium driven by playwright-core, on a real server: the operator ticks
// two of three pending approvals (a live re-render while ticking keeps the boxes ticked), previews
// them (2), approves with a reason from the keyboard-reachable form, and both runs resume; a preview
// gone stale meanwhile is refused with E_CONFLICT and decides nothing. 0 axe-core WCAG 2 A/AA
// violations on the list and the preview, no console error, screenshots in test-artifacts/dashboard/.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Page } from 'playwright-core';
import { axeViolations, openSeededBrowser, type SeededBrowser } from './dashboard-browser-kit.ts';

let s: SeededBrowser;
const runs: string[] = [];
const approvals: string[] = [];
before(async () => {
  s = await openSeededBrowser(async (env) => {
    for (const n of [1, 2, 3]) {
      const run = await env.start('dash.approve', { question: `Refund order 9${n}?` });
      runs.push(run);
      approvals.push(await env.pendingApproval(run));
    }
  });
});
after(() => s?.close());

const tick = (page: Page, question: string) =>
  page.getByRole('checkbox', { name: `Select: ${question}` }).check();

it('approves the ticked approvals with a reason after a preview; a stale preview is refused', async () => {
  const page = await s.context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.addInitScript({
    content: `window.refreshed = 0; document.addEventListener('strata:refreshed', () => window.refreshed++);`,
  });
  await page.goto(`${s.env.url}/ui/approvals`);
  await page.locator('#live[data-state="live"]').waitFor();
  await tick(page, 'Refund order 91?');
  // A new approval arrives while the operator is choosing: the view re-renders live, and keeps the tick.
  const fourth = await s.env.start('dash.approve', { question: 'Refund order 94?' });
  await s.env.pendingApproval(fourth);
  await page.getByText('Refund order 94?').waitFor();
  assert.ok((await page.evaluate<number>('window.refreshed')) > 0, 'the view was re-rendered');
  assert.equal(await page.getByRole('checkbox', { name: 'Select: Refund order 91?' }).isChecked(), true);
  await tick(page, 'Refund order 92?');
  assert.deepEqual(await axeViolations(page), []);
  await page.screenshot({ path: 'test-artifacts/dashboard/approvals-bulk-select.png' });
  await page.getByRole('button', { name: 'Preview approving the selected' }).click();
  await page.waitForURL(/\/ui\/approvals\/bulk\?/);
  assert.equal(await page.locator('#bulk-count').innerText(), '2');
  assert.deepEqual(await axeViolations(page), []);
  await page.screenshot({ path: 'test-artifacts/dashboard/approvals-bulk-preview.png' });

  // Someone else decides one of the two before the confirmation: refused, nothing decided.
  const other = await s.context.newPage();
  await other.goto(`${s.env.url}/ui/approvals`);
  const row = other.locator(`tr[data-approval="${approvals[1]}"]`);
  await row.getByLabel('Reason').fill('handled by phone');
  await row.getByRole('button', { name: 'Reject' }).click();
  await other.waitForURL(/done=/);
  await other.close();
  await page.getByLabel('Reason (signed into each decision)').fill('refunds checked');
  await page.getByRole('button', { name: 'Approve 2 approvals' }).click();
  await page.waitForURL(/\/ui\/approvals\?error=/);
  assert.match(
    await page.locator('main').innerText(),
    /E_CONFLICT: 1 of the selected approvals are pending now, not 2/,
  );

  // Preview again (now 1) and approve it from the keyboard.
  await page.goto(`${s.env.url}/ui/approvals/bulk?id=${approvals[0]}&id=${approvals[1]}`);
  assert.equal(await page.locator('#bulk-count').innerText(), '1');
  await page.getByLabel('Reason (signed into each decision)').fill('refunds checked');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/ui\/approvals\?done=/);
  assert.match(await page.locator('main').innerText(), /approved 1 approval\b/);
  await s.env.waitForStatus(runs[0] as string, 'completed');
  await page.goto(`${s.env.url}/ui/runs/${runs[0]}`);
  assert.match(await page.locator('main').innerText(), /approved by/);
  assert.deepEqual(errors, [], 'no console errors (a CSP violation would be one)');
  await page.close();
});
