// A run's audit on the dashboard, over HTTP with a real server, runtime and worker (SQLite): the Run
// detail's Audit section lists the run's entries (its own syscalls, the operator's start and
// signal) newest last, capped, with links to the Audit view filtered by the run (kept in the URL,
// in paging and in the download) and, for a root with children, by its tree; an approval decided
// from the page lands in the asking run's audit; a session that may not read the audit log still
// sees the run; a malformed run filter is a 400 naming the field; no page shows the secret the
// run's vault call carried.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { verifyExport } from '../kernel/index.ts';
import { defineWorkflow, type WorkflowDefinition } from '../orchestration/index.ts';
import { RUN_AUDIT_ROWS } from './views/run-audit.ts';
import { flashOf, openDashboardEnv, quickWorkflow, type Browser, type DashboardTestEnv } from './testing.ts';

const SECRET = 'sk-live-RUN-AUDIT-never-shown-5678';
const ECHOES = 30;

/** Stores a secret in the vault, echoes, starts a child, and waits for `finish`. */
const audited = defineWorkflow(
  { name: 'dash.audited', version: 1, input: z.object({}), output: z.unknown() },
  async (ctx) => {
    await ctx.syscall('tools.vault.put', {
      name: 'run-audit',
      owner: 'tenant',
      kind: 'bearer',
      secret: SECRET,
    });
    for (let i = 0; i < ECHOES; i++) await ctx.syscall('kernel.echo', { message: `step ${i}` });
    await (await ctx.startChild(quickWorkflow, {})).result();
    return ctx.waitFor('finish');
  },
);

let env: DashboardTestEnv;
let admin: Browser;
let runId = '';
const rowsOf = (text: string): string[] => [...text.matchAll(/<tr data-seq="(\d+)"/g)].map((m) => m[1] ?? '');
/** The Run detail's Audit section (the end of the page's main content). */
const auditSection = (text: string): string => text.slice(text.indexOf('<h2>Audit</h2>'));

before(async () => {
  env = await openDashboardEnv({ workflows: [audited as unknown as WorkflowDefinition] });
  admin = await env.login(env.adminKey);
  runId = await env.start('dash.audited', {});
  await env.waitForStatus(runId, 'waiting');
  // The child may end before the parent waits again: wait until the parent waits for `finish`.
  for (let i = 0; i < 400 && !(await admin.get(`/ui/runs/${runId}`)).text.includes('>finish<'); i++)
    await new Promise((r) => setTimeout(r, 25));
  const signalled = await admin.post(`/ui/runs/${runId}/signal`, { name: 'finish', payload: '"done"' });
  assert.match(flashOf(signalled), /signal finish sent/);
  await env.waitForStatus(runId, 'completed');
});
after(() => env.close());

describe('run detail: audit', () => {
  it('lists the run’s newest entries, newest last, capped, with links to all of them', async () => {
    const page = await admin.get(`/ui/runs/${runId}`);
    assert.equal(page.status, 200);
    const section = auditSection(page.text);
    const seqs = rowsOf(section).map(Number);
    assert.equal(seqs.length, RUN_AUDIT_ROWS);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'oldest first, so the newest is last',
    );
    assert.match(
      section,
      new RegExp(`the newest ${RUN_AUDIT_ROWS} audit entries \\(more in the Audit view\\)`),
    );
    const rows = section.split('<tr data-seq=').slice(1);
    assert.match(rows.at(-1) ?? '', /<code>runs\.signal<\/code>[\s\S]*status-completed/);
    assert.match(rows.at(-2) ?? '', /<code>kernel\.echo<\/code>/);
    assert.match(section, new RegExp(`href="/ui/audit\\?run=${runId}"`));
    assert.match(section, new RegExp(`href="/ui/audit\\?root=${runId}"`), 'a root with children: its tree');
    assert.ok(!page.text.includes(SECRET));
  });

  it('shows the whole run in the Audit view filtered by run, kept in the URL, the download and paging', async () => {
    const page = await admin.get(`/ui/audit?run=${runId}`);
    assert.equal(page.status, 200);
    const actions = [...page.text.matchAll(/<tr data-seq="\d+">[\s\S]*?<td><code>([a-z_.]+)<\/code>/g)].map(
      (m) => m[1],
    );
    // Newest first: the signal, 30 echoes, the vault call, the start.
    assert.deepEqual(actions, [
      'runs.signal',
      ...Array.from({ length: ECHOES }, () => 'kernel.echo'),
      'tools.vault.put',
      'runs.start',
    ]);
    assert.equal(
      [...page.text.matchAll(new RegExp(`<a href="/ui/runs/${runId}">`, 'g'))].length,
      actions.length,
    );
    assert.match(page.text, new RegExp(`<input id="a-run" name="run" value="${runId}"`));
    assert.match(page.text, /\[REDACTED\]/, 'the vault call is listed, its secret redacted');
    assert.ok(!page.text.includes(SECRET));
    assert.match(page.text, new RegExp(`href="/ui/audit/export\\.jsonl\\?run=${runId}"`));

    const older = await admin.get(`/ui/audit?run=${runId}&action=kernel.echo&before=${rowsOf(page.text)[5]}`);
    assert.equal(
      rowsOf(older.text).length,
      ECHOES - 5, // rows: the signal, then the echoes newest first; below the sixth, the 25 oldest
      'the run’s echoes only, none of another run',
    );

    const download = await admin.get(`/ui/audit/export.jsonl?run=${runId}`);
    assert.equal(download.status, 200);
    const [header, ...lines] = download.text.trim().split('\n');
    assert.deepEqual((JSON.parse(header ?? '{}') as { filter: unknown }).filter, { runId });
    assert.equal(lines.length, actions.length);
    assert.ok(lines.every((l) => (JSON.parse(l) as { runId: string }).runId === runId));
    assert.ok(!download.text.includes(SECRET));
    assert.equal(verifyExport((await admin.get('/ui/audit/export.jsonl')).text).ok, true);

    const tree = await admin.get(`/ui/audit?root=${runId}`);
    assert.equal(rowsOf(tree.text).length, actions.length, 'the child made no syscall: the tree is the run');
  });

  it('answers a malformed run filter with a 400 naming the field, and lists nothing', async () => {
    for (const query of ['run=not-a-run', `run=${runId}%27--`, 'root=run_1']) {
      const bad = await admin.get(`/ui/audit?${query}`);
      assert.equal(bad.status, 400, query);
      assert.match(bad.text, /E_INVALID_INPUT/);
      assert.match(bad.text, /must be a run id/);
      assert.deepEqual(rowsOf(bad.text), [], query);
    }
  });

  it('puts a decision made on the page into the asking run’s audit', async () => {
    const asking = await env.start('dash.approve', { question: 'ship it?' });
    const approval = await env.pendingApproval(asking);
    const back = `/ui/runs/${asking}`; // the form on the Run detail page
    const decided = await admin.post(`/ui/approvals/${approval}/decide`, {
      decision: 'approve',
      reason: 'ok',
      back,
    });
    assert.match(flashOf(decided), /approved/);
    await env.waitForStatus(asking, 'completed');
    const section = auditSection((await admin.get(`/ui/runs/${asking}`)).text);
    assert.match(
      section,
      /<code>runs\.start<\/code>[\s\S]*<code>approvals\.request<\/code>[\s\S]*<code>approvals\.decide<\/code>/,
    );
    assert.doesNotMatch(section, /<a href="\/ui\/audit\?root=/, 'no children: no tree link');
  });

  it('still shows the run to a session that may not read the audit log, saying why', async () => {
    const key = await env.key([
      { syscall: 'kernel.tokens.issue', resource: '*' },
      { syscall: 'runs.*', resource: '*' },
      { syscall: 'approvals.list', resource: '*' },
    ]);
    const page = await (await env.login(key)).get(`/ui/runs/${runId}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<h2>Timeline<\/h2>/);
    assert.match(auditSection(page.text), /E_CAPABILITY_DENIED/);
  });
});
