// Bulk approve over HTTP on a real server and runtime (SQLite): pending rows carry select boxes, the
// preview counts what is still pending, a confirmation whose count went stale is refused with
// E_CONFLICT and decides nothing, the fresh one approves each as the operator with the reason (the
// runs resume), a reason is required, and a read-only session gets no boxes and decides nothing.
// The same flow in Chromium is in test/dashboard-approvals-browser.test.ts.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Approval } from '../orchestration/approvals/approval-row.ts';
import { flashOf, openDashboardEnv, type Browser, type DashboardTestEnv } from './testing.ts';

let env: DashboardTestEnv;
let admin: Browser;
before(async () => {
  env = await openDashboardEnv();
  admin = await env.login(env.adminKey);
});
after(() => env.close());

async function approval(id: string): Promise<Approval> {
  const principal = await env.runtime.kernel.authenticate({ apiKey: env.adminKey });
  return env.runtime.kernel.call<Approval>('approvals.get', { id }, { principal });
}

it('previews the selected, refuses a stale count with E_CONFLICT, then approves each with the reason', async () => {
  const runs: string[] = [];
  for (const n of [1, 2, 3]) runs.push(await env.start('dash.approve', { question: `Refund order ${n}?` }));
  const ids = await Promise.all(runs.map((r) => env.pendingApproval(r)));
  const [first, second, third] = ids as [string, string, string];

  const page = await admin.get('/ui/approvals');
  for (const id of ids)
    assert.match(
      page.text,
      new RegExp(`<input\\s+type="checkbox"\\s+name="id"\\s+value="${id}"\\s+form="bulk-approve"`),
    );
  assert.match(page.text, /<form\s+id="bulk-approve"\s+method="get"\s+action="\/ui\/approvals\/bulk"/);

  const preview = await admin.get(`/ui/approvals/bulk?${ids.map((id) => `id=${id}`).join('&')}`);
  assert.equal(preview.status, 200);
  assert.match(preview.text, /id="bulk-count">3</);
  // Someone decides one of them after the preview: the confirmation of 3 is stale.
  await admin.post(`/ui/approvals/${third}/decide`, { decision: 'reject', reason: 'not this one' });
  const stale = await admin.post('/ui/approvals/bulk', {
    ids: ids.join(','),
    expect: '3',
    reason: 'batch ok',
  });
  assert.equal(stale.status, 303);
  assert.match(flashOf(stale), /^E_CONFLICT: 2 of the selected approvals are pending now, not 3/);
  for (const id of [first, second]) assert.equal((await approval(id)).status, 'pending', 'nothing decided');

  const again = await admin.get(`/ui/approvals/bulk?id=${ids.join(',')}`);
  assert.match(again.text, /id="bulk-count">2</);
  assert.match(again.text, /1 of the 3 selected is no longer pending/);
  const noReason = await admin.post('/ui/approvals/bulk', {
    ids: `${first},${second}`,
    expect: '2',
    reason: ' ',
  });
  assert.match(flashOf(noReason), /^E_INVALID_INPUT: a bulk approval needs a reason/);
  const done = await admin.post('/ui/approvals/bulk', {
    ids: `${first},${second}`,
    expect: '2',
    reason: 'batch ok',
  });
  assert.equal(flashOf(done), 'approved 2 approvals');
  for (const id of [first, second]) {
    const decided = await approval(id);
    assert.equal(decided.status, 'approved');
    assert.equal(decided.reason, 'batch ok');
    assert.equal(decided.decidedBy, env.adminKeyId);
  }
  assert.equal((await approval(third)).status, 'rejected', 'the one decided elsewhere is untouched');
  await env.waitForStatus(runs[0] as string, 'completed');
  await env.waitForStatus(runs[1] as string, 'completed');
});

it('refuses a malformed selection with a 400, and gives a read-only session no boxes and no decision', async () => {
  const bad = await admin.get('/ui/approvals/bulk?id=%3Cscript%3E');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /E_INVALID_INPUT/);
  assert.equal((await admin.get('/ui/approvals/bulk')).status, 400, 'nothing selected');

  const runId = await env.start('dash.approve', { question: 'Read-only?' });
  const id = await env.pendingApproval(runId);
  const reader = await env.login(env.adminKey, { readOnly: true });
  const page = await reader.get('/ui/approvals');
  assert.match(page.text, /Read-only\?/);
  assert.doesNotMatch(page.text, /type="checkbox"|id="bulk-approve"/);
  const refused = await reader.post('/ui/approvals/bulk', { ids: id, expect: '1', reason: 'sneaky' });
  assert.match(flashOf(refused), /skipped .*E_CAPABILITY_DENIED/);
  assert.equal((await approval(id)).status, 'pending');
});
