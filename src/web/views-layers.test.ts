// The Audit view and the per-layer pages over HTTP, on a real server and runtime (SQLite), seeded
// through real syscalls: a vault connection holding a real secret, a memory fact, an agent's
// mailbox, a provisioned SQLite database, a sandbox, and 60 echoes to page through. Audit: filters in the URL, paging by seq,
// chain verification, and the JSONL download (whole chain: verifies offline; filtered: says so).
// Layers: each page shows its seeded data (browser sessions and mail events: their empty state);
// no page or download shows the vault secret; a read-only session sees every page.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyExport } from '../kernel/index.ts';
import { seedLayers, LAYER_SECRET } from './testing-layers.ts';
import { openDashboardEnv, type Browser, type DashboardTestEnv } from './testing.ts';

const SECRET = LAYER_SECRET;
const PAGES = [
  '/ui/audit',
  '/ui/audit?action=tools.vault.',
  '/ui/audit/verify',
  '/ui/layers',
  '/ui/layers/compute',
  '/ui/layers/identity',
  '/ui/layers/memory?q=staging+database',
  '/ui/layers/tools',
  '/ui/layers/provisioning',
];

let env: DashboardTestEnv;
let admin: Browser;
let reader: Browser;
const call = async <T>(name: string, input: unknown): Promise<T> => {
  const principal = await env.runtime.kernel.authenticate({ apiKey: env.adminKey });
  return env.runtime.kernel.call<T>(name, input, { principal });
};

before(async () => {
  env = await openDashboardEnv();
  await seedLayers(env);
  await call('sandbox.create', { name: 'build-box', kind: 'ephemeral' });
  for (let i = 0; i < 60; i++) await call('kernel.echo', { message: `ping ${i}` });
  admin = await env.login(env.adminKey);
  reader = await env.login(env.adminKey, { readOnly: true });
});
after(() => env.close());

const rowsOf = (text: string): string[] => [...text.matchAll(/<tr data-seq="(\d+)"/g)].map((m) => m[1] ?? '');

describe('audit', () => {
  it('lists entries newest first, filtered by the URL, and pages by seq without gaps', async () => {
    const all = await admin.get('/ui/audit');
    assert.equal(all.status, 200);
    assert.match(all.text, /<code>kernel\.echo<\/code>/);
    const seqs = rowsOf(all.text).map(Number);
    assert.equal(seqs.length, 50);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
    );
    const older = /<a href="([^"]+)" rel="next"/.exec(all.text)?.[1]?.replaceAll('&amp;', '&');
    assert.ok(older);
    const next = rowsOf((await admin.get(older)).text).map(Number);
    assert.equal(next[0], (seqs.at(-1) ?? 0) - 1, 'the next page starts right below the first');

    const provision = await admin.get('/ui/audit?action=provision.&outcome=ok');
    const actions = [...provision.text.matchAll(/<td><code>([a-z_.]+)<\/code><\/td>\s*<td class="(\S+)">/g)];
    assert.ok(actions.length >= 1);
    assert.ok(actions.every((m) => m[1]?.startsWith('provision.') && m[2] === 'status-completed'));
    assert.match(provision.text, /<code>provision\.create<\/code>/);
    const denied = await reader.post('/ui/act', { syscall: 'runs.cancel', input: '{"runId":"run_x"}' });
    assert.equal(denied.status, 303);
    const refusals = await admin.get('/ui/audit?outcome=denied');
    assert.equal(rowsOf(refusals.text).length, 1);
    assert.match(refusals.text, /E_CAPABILITY_DENIED/);
    const window = await admin.get('/ui/audit?action=memory.&since=2000-01-01T00:00&until=2000-01-02T00:00');
    assert.match(window.text, /No audit entry matches/);
  });

  it('answers a malformed filter with a 400 naming the field', async () => {
    const bad = await admin.get('/ui/audit?since=yesterday-ish&outcome=maybe');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /E_INVALID_INPUT/);
    assert.match(bad.text, /since|outcome/);
  });

  it('verifies the chain: intact, the entry count and the head hash the kernel reports', async () => {
    const page = await admin.get('/ui/audit/verify');
    assert.equal(page.status, 200);
    assert.match(page.text, /the chain is intact/);
    const verdict = await call<{ entries: number; headHash: string }>('kernel.audit.verify', {});
    const shown = Number(/Entries verified<\/dt>\s*<dd>(\d+)/.exec(page.text)?.[1]);
    assert.ok(shown > 10 && shown <= verdict.entries, `${shown} of ${verdict.entries}`);
    assert.match(page.text, /<code>[0-9a-f]{64}<\/code>/);
  });

  it('downloads the whole chain as strata-audit/v1 JSONL that verifies offline, and a filtered one', async () => {
    const whole = await admin.get('/ui/audit/export.jsonl');
    assert.equal(whole.status, 200);
    assert.match(whole.headers.get('content-disposition') ?? '', /attachment; filename="audit-/);
    const verdict = verifyExport(whole.text);
    assert.equal(verdict.ok, true, JSON.stringify(verdict.firstBad));
    const header = JSON.parse(whole.text.split('\n')[0] ?? '') as { head: { seq: number }; filter?: unknown };
    assert.equal(verdict.entries, header.head.seq);
    assert.equal(header.filter, undefined);
    assert.ok(!whole.text.includes(SECRET), 'the vault secret is redacted in the audit');

    const filtered = await admin.get('/ui/audit/export.jsonl?action=tools.vault.');
    const [head, ...lines] = filtered.text.trimEnd().split('\n');
    assert.deepEqual((JSON.parse(head ?? '') as { filter?: unknown }).filter, { action: 'tools.vault.' });
    assert.ok(lines.length >= 1);
    assert.ok(lines.every((l) => (JSON.parse(l) as { action: string }).action.startsWith('tools.vault.')));
    const bad = await admin.get('/ui/audit/export.jsonl?until=soon');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /E_INVALID_INPUT/);
  });
});

describe('layers', () => {
  it('indexes the five layers', async () => {
    const index = await admin.get('/ui/layers');
    for (const layer of ['compute', 'identity', 'memory', 'tools', 'provisioning'])
      assert.match(index.text, new RegExp(`href="/ui/layers/${layer}"`));
    assert.match(index.text, /aria-current="page"[^>]*>Layers/);
    const unknown = await admin.get('/ui/layers/quantum');
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /E_NOT_FOUND/);
  });

  it('shows each layer’s seeded data', async () => {
    const compute = (await admin.get('/ui/layers/compute')).text;
    assert.match(compute, /<code>build-box<\/code>/);
    assert.match(compute, /No browser sessions\./);
    const identity = (await admin.get('/ui/layers/identity')).text;
    assert.match(identity, /scout@agents\.test/);
    assert.match(identity, /No mail events yet\./);
    const memory = (await admin.get('/ui/layers/memory?q=staging+database')).text;
    assert.match(memory, /orders-db/);
    assert.match(memory, /<td class="num">\d\.\d{4}<\/td>/, 'a score');
    assert.match(memory, /id="facts-count">[1-9]\d* active facts? in this tenant/);
    const scoped = (await admin.get('/ui/layers/memory?q=staging&agent=nobody')).text;
    assert.match(scoped, /Nothing matches\./);
    const tools = (await admin.get('/ui/layers/tools')).text;
    assert.match(tools, /<code>payments-api<\/code>/);
    assert.match(tools, /No MCP servers\./);
    const provisioning = (await admin.get('/ui/layers/provisioning')).text;
    assert.match(provisioning, /<code>scratch-db<\/code>/);
    assert.match(provisioning, /team=shop/);
    assert.match(provisioning, /status-completed">ready/);
  });
});

describe('access', () => {
  it('never shows the vault secret, and a read-only session sees every page', async () => {
    for (const path of PAGES) {
      for (const [who, session] of [
        ['admin', admin],
        ['reader', reader],
      ] as const) {
        const page = await session.get(path);
        assert.equal(page.status, 200, `${who} ${path}`);
        assert.ok(!page.text.includes(SECRET), `${who} ${path} shows the secret`);
        assert.doesNotMatch(page.text, /class="notice error"/, `${who} ${path}: a read was refused`);
      }
    }
    assert.match((await reader.get('/ui/layers/tools')).text, /payments-api/);
    const vaultAudit = (await reader.get('/ui/audit?action=tools.vault.')).text;
    assert.match(vaultAudit, /\(read-only\)/);
    assert.match(vaultAudit, /<code>tools\.vault\.put<\/code>/, 'the put is audited, its secret redacted');
  });
});
