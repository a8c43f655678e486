// The needs-you badge is live, in Debian's Chromium driven by playwright-core on a real server: two
// pages stay open without reloading, the Needs you view (its rows live too) and the Layers index (a
// static view: its stream is there for the badge). An approval raised by a run moves both badges
// from 0 to 1, the view's rows from 0 to 1; deciding it moves them back to 0; at each step the badge
// equals the rows. No console error (a CSP violation would be one); screenshots in
// test-artifacts/dashboard/.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Page } from 'playwright-core';
import { openSeededBrowser, type SeededBrowser } from './dashboard-browser-kit.ts';

let s: SeededBrowser;
before(async () => {
  s = await openSeededBrowser(() => Promise.resolve());
});
after(() => s?.close());

const badgeOf = (page: Page) => page.locator('#needs-you-badge').innerText();
const rowsOf = (page: Page) => page.locator('#view tr[data-kind]').count();
const badgeShows = (page: Page, n: number) =>
  page.locator('#needs-you-badge', { hasText: new RegExp(`^${n}$`) }).waitFor({ timeout: 10_000 });

it('the badge follows an approval raised and decided, equal to the rows, without a reload', async () => {
  const errors: string[] = [];
  const open = async (path: string): Promise<Page> => {
    const page = await s.context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${s.env.url}${path}`);
    await page.locator('#live[data-state="live"]').waitFor();
    // Set after the load: a reload would drop it.
    await page.evaluate('window.sameDocument = true');
    return page;
  };
  const home = await open('/ui');
  const layers = await open('/ui/layers');
  assert.equal(await badgeOf(home), '0');
  assert.equal(await badgeOf(layers), '0');
  assert.equal(await rowsOf(home), 0);

  const run = await s.env.start('dash.approve', { question: 'Ship the release?' });
  const approval = await s.env.pendingApproval(run);
  await Promise.all([badgeShows(home, 1), badgeShows(layers, 1)]);
  await home.getByText('Ship the release?').waitFor();
  assert.equal(await rowsOf(home), 1, 'the badge equals the rows');
  assert.equal(await home.locator('#needs-you-badge').getAttribute('aria-label'), '1 items');
  await home.screenshot({ path: 'test-artifacts/dashboard/needs-you-badge-live.png' });

  const principal = await s.env.runtime.kernel.authenticate({ apiKey: s.env.adminKey });
  await s.env.runtime.kernel.call(
    'approvals.decide',
    { id: approval, decision: 'approve', reason: 'release checked' },
    { principal },
  );
  await Promise.all([badgeShows(home, 0), badgeShows(layers, 0)]);
  await home.getByText('Nothing waits on you.').waitFor();
  assert.equal(await rowsOf(home), 0);
  await s.env.waitForStatus(run, 'completed');
  for (const page of [home, layers])
    assert.equal(await page.evaluate('window.sameDocument'), true, `${page.url()} was not reloaded`);
  assert.deepEqual(errors, [], 'no console errors (a CSP violation would be one)');
});

it('a form that arrived in a pushed render posts with the session token the page fills in', async () => {
  const home = await s.context.newPage();
  await home.goto(`${s.env.url}/ui`);
  await home.locator('#live[data-state="live"]').waitFor();
  const run = await s.env.start('dash.approve', { question: 'Refund the pushed order?' });
  const approval = await s.env.pendingApproval(run);
  const row = home.locator('tr', { hasText: 'Refund the pushed order?' });
  await row.waitFor(); // pushed: the page was rendered before the approval existed
  // The render is shared by the tenant's pages: it carries no session's token, the page adds its own.
  const token = await home.locator('meta[name="csrf-token"]').getAttribute('content');
  assert.ok(token);
  assert.equal(await row.locator('input[name="_csrf"]').inputValue(), token);
  await row.getByLabel('Reason').fill('pushed and approved');
  await row.getByRole('button', { name: 'Approve' }).click();
  await home.waitForURL(/done=/);
  await s.env.waitForStatus(run, 'completed');
  const principal = await s.env.runtime.kernel.authenticate({ apiKey: s.env.adminKey });
  const decided = await s.env.runtime.kernel.call<{ status: string; reason?: string }>(
    'approvals.get',
    { id: approval },
    { principal },
  );
  assert.equal(decided.status, 'approved');
  await home.close();
});
