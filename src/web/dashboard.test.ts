// The dashboard over HTTP, on a real server with a real runtime and worker (SQLite): login and
// sessions, CSRF and Origin checks, read-only sessions, the needs-you list and approvals, the runs
// list's filters, paging and bulk actions, run detail, bad input, and that no page shows a secret.
// The same views in Chromium (rendering, keyboard, axe, live updates) are in test/dashboard-browser.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY } from './dashboard.ts';
import { login, SESSION_COOKIE } from './session.ts';
import { flashOf, openDashboardEnv, type Browser, type DashboardTestEnv } from './testing.ts';

let env: DashboardTestEnv;
let admin: Browser;
before(async () => {
  env = await openDashboardEnv();
  admin = await env.login(env.adminKey);
});
after(() => env.close());

const tableCount = async (table: string): Promise<number> =>
  Number((await env.runtime.kernel.store.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n);

describe('sessions', () => {
  it('sends an unauthenticated page to the login form, and refuses a bad key with a message', async () => {
    const anonymous = await fetch(`${env.url}/ui/runs`, { redirect: 'manual' });
    assert.equal(anonymous.status, 303);
    assert.equal(anonymous.headers.get('location'), '/ui/login');
    const bad = await fetch(`${env.url}/ui/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: env.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'key=sk_not_a_real_key',
    });
    assert.equal(bad.status, 401);
    assert.match(await bad.text(), /E_UNAUTHENTICATED/);
    assert.equal(bad.headers.get('set-cookie'), null);
  });

  it('sets an HttpOnly, SameSite=Strict session cookie holding a token, not the key', async () => {
    const res = await fetch(`${env.url}/ui/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: env.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: env.adminKey }).toString(),
    });
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.ok(!cookie.includes(env.adminKey), 'the API key is not in the cookie');
  });

  it('refuses a login posted from another origin', async () => {
    const res = await fetch(`${env.url}/ui/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: env.adminKey }).toString(),
    });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('set-cookie'), null);
  });

  it('sends a revoked (logged out) session back to the login page, saying it expired', async () => {
    const session = await env.login(env.adminKey);
    assert.equal((await session.get('/ui')).status, 200);
    assert.equal((await session.post('/ui/logout', {})).status, 303);
    const after = await session.get('/ui');
    assert.equal(after.status, 303);
    assert.equal(after.headers.get('location'), '/ui/login?expired=1');
    const forged = await env.browser('strata_session=abc.def.ghi').get('/ui');
    assert.equal(forged.headers.get('location'), '/ui/login?expired=1');
  });

  it('sends an expired session back to the login page, saying so', async () => {
    // Expiry is in whole seconds (JWT exp): a 1 s session can end a moment after it was made, before
    // the first page on a loaded machine. 2 s leaves it at least one.
    const session = await login(env.runtime.kernel, env.adminKey, { readOnly: false, ttlSeconds: 2 });
    const client = env.browser(`${SESSION_COOKIE}=${session.token}`);
    assert.equal((await client.get('/ui')).status, 200);
    await new Promise((r) => setTimeout(r, 2_100));
    const expired = await client.get('/ui/runs');
    assert.equal(expired.headers.get('location'), '/ui/login?expired=1');
    const page = await fetch(`${env.url}/ui/login?expired=1`);
    assert.match(await page.text(), /session expired or was revoked/);
  });

  it('shows a banner on every page while fault injection is on', async () => {
    const principal = await env.runtime.kernel.authenticate({ apiKey: env.adminKey });
    assert.doesNotMatch((await admin.get('/ui')).text, /Fault injection is on/);
    await env.runtime.kernel.call('chaos.set', { enabled: true, seed: 42, rules: [] }, { principal });
    try {
      for (const path of ['/ui', '/ui/runs', '/ui/approvals'])
        assert.match((await admin.get(path)).text, /Fault injection is on \(seed 42\)/, path);
    } finally {
      await env.runtime.kernel.call('chaos.set', { enabled: false }, { principal });
    }
  });

  it('serves every page with a strict CSP and only its own assets', async () => {
    const page = await admin.get('/ui');
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.doesNotMatch(page.text, /(src|href)="(https?:)?\/\//, 'no asset from another origin');
    assert.doesNotMatch(page.text, /<script>|style="/, 'no inline script or style');
    for (const asset of page.text.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)) {
      const res = await fetch(`${env.url}${asset[1]}`);
      assert.equal(res.status, 200, asset[1]);
      assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
      assert.equal(
        res.headers.get('cache-control'),
        'public, max-age=86400, immutable',
        'its own caching kept',
      );
      await res.arrayBuffer();
    }
  });

  it('sends the security headers and no-store on fragments, redirects, 404s and JSON too', async () => {
    const answers = {
      page: await admin.get('/ui'),
      'live fragment': await admin.get('/ui/runs', { 'hx-request': 'true', 'x-strata-seq': '0' }),
      'badge count': await admin.get('/ui/needs-you/count', { 'x-strata-seq': '0' }),
      'unknown run': await admin.get('/ui/runs/run_nope'),
      'login redirect': await fetch(`${env.url}/ui/runs`, { redirect: 'manual' }),
    };
    for (const [what, res] of Object.entries(answers)) {
      assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, what);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', what);
      assert.equal(res.headers.get('cache-control'), 'no-store', what);
    }
    assert.equal(answers['unknown run'].status, 404);
    assert.equal(answers['login redirect'].status, 303);
  });
});

describe('writes', () => {
  it('refuses a write without the CSRF token or from another origin, and changes nothing', async () => {
    const runId = await env.start('dash.sleepy', {});
    await env.waitForStatus(runId, 'waiting');
    const fields = { syscall: 'runs.cancel', input: JSON.stringify({ runId }), back: '/ui' };
    const noToken = await admin.post('/ui/act', { ...fields, _csrf: '' });
    assert.equal(noToken.status, 403);
    assert.match(noToken.text, /E_CSRF/);
    const wrongToken = await admin.post('/ui/act', { ...fields, _csrf: 'x'.repeat(43) });
    assert.equal(wrongToken.status, 403);
    const otherOrigin = await admin.post('/ui/act', fields, { origin: 'https://evil.example' });
    assert.equal(otherOrigin.status, 403);
    await env.waitForStatus(runId, 'waiting', 100);
    const done = await admin.post('/ui/act', fields);
    assert.equal(done.status, 303);
    assert.match(flashOf(done), /runs\.cancel: done/);
    await env.waitForStatus(runId, 'cancelled');
  });

  it('lets a read-only session look but not act: the kernel refuses, nothing changes', async () => {
    const runId = await env.start('dash.sleepy', {});
    await env.waitForStatus(runId, 'waiting');
    const reader = await env.login(env.adminKey, { readOnly: true });
    assert.ok(reader.cookie.length < 4000, `a browser keeps a cookie under 4 KB (${reader.cookie.length})`);
    const detail = await reader.get(`/ui/runs/${runId}`);
    assert.equal(detail.status, 200);
    assert.match(detail.text, /\(read-only\)/);
    assert.doesNotMatch(detail.text, /action="\/ui\/act"/, 'no action buttons');
    const res = await reader.post('/ui/act', { syscall: 'runs.cancel', input: JSON.stringify({ runId }) });
    assert.match(flashOf(res), /E_CAPABILITY_DENIED/);
    await env.waitForStatus(runId, 'waiting', 100);
  });

  it('refuses an action the dashboard does not offer, before the kernel', async () => {
    const res = await admin.post('/ui/act', {
      syscall: 'kernel.keys.create',
      input: '{"name":"x","grants":[]}',
    });
    assert.match(flashOf(res), /does not offer kernel\.keys\.create/);
  });
});

describe('needs you and approvals', () => {
  it('lists a pending approval with a badge equal to the rows; deciding it resumes the run', async () => {
    const runId = await env.start('dash.approve', { question: 'Refund order 42?' });
    const approvalId = await env.pendingApproval(runId);
    const home = await admin.get('/ui');
    const rows = [...home.text.matchAll(/<tr data-kind="/g)].length;
    const badge = /<span class="badge"[^>]*>(\d+)<\/span>/.exec(home.text)?.[1];
    assert.equal(Number(badge), rows);
    assert.match(home.text, /Refund order 42\?/);
    const decided = await admin.post(`/ui/approvals/${approvalId}/decide`, {
      decision: 'approve',
      reason: 'checked the order',
      back: '/ui',
    });
    assert.equal(decided.status, 303);
    assert.match(flashOf(decided), /approved/);
    await env.waitForStatus(runId, 'completed');
    const again = await admin.post(`/ui/approvals/${approvalId}/decide`, { decision: 'reject', back: '/ui' });
    assert.match(flashOf(again), /E_CONFLICT/);
    const page = await admin.get(`/ui/runs/${runId}`);
    assert.match(page.text, /approved<\/span> by <code>/);
    assert.match(page.text, /<th scope="col">Layer<\/th>/, 'the timeline names layers');
  });

  it('lists an unhealthy driver (an MCP server that stopped answering), counted in the badge', async () => {
    const principal = await env.runtime.kernel.authenticate({ apiKey: env.adminKey });
    const hang = fileURLToPath(new URL('../../test/fixtures/mcp-fixture/hang.ts', import.meta.url));
    await env.runtime.kernel.call(
      'tools.mcp.add',
      {
        name: 'mute',
        transport: 'stdio',
        command: process.execPath,
        args: [hang],
        connectTimeoutMs: 300,
        restart: { baseDelayMs: 60_000 },
      },
      { principal },
    );
    const home = await admin.get('/ui');
    assert.match(home.text, /<tr data-kind="driver">[\s\S]*MCP server mute: not answering/);
    const rows = [...home.text.matchAll(/<tr data-kind="/g)].length;
    assert.equal(Number(/<span class="badge"[^>]*>(\d+)<\/span>/.exec(home.text)?.[1]), rows);
    await env.runtime.kernel.call('tools.mcp.remove', { name: 'mute' }, { principal });
    assert.doesNotMatch((await admin.get('/ui')).text, /MCP server mute/);
  });

  it('never shows a vault secret on any page', async () => {
    const principal = await env.runtime.kernel.authenticate({ apiKey: env.adminKey });
    const secret = 'sk-live-VERY-SECRET-dashboard-1234';
    await env.runtime.kernel.call(
      'tools.vault.put',
      { name: 'payments', owner: 'tenant', kind: 'bearer', secret },
      { principal },
    );
    for (const path of ['/ui', '/ui/runs', '/ui/approvals']) {
      const page = await admin.get(path);
      assert.equal(page.status, 200, path);
      assert.ok(!page.text.includes(secret), path);
    }
  });
});

describe('runs', () => {
  it('filters by the URL, pages without gaps or repeats, and names a malformed filter', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 60; i++) ids.add(await env.start('dash.quick', i % 3 === 0 ? { fail: 'x' } : {}));
    for (const id of ids) await env.waitForEnd(id);
    const seen: string[] = [];
    let path: string | undefined = '/ui/runs?workflow=dash.quick';
    while (path) {
      const page = await admin.get(path.replaceAll('&amp;', '&'));
      assert.equal(page.status, 200);
      seen.push(...[...page.text.matchAll(/<a href="\/ui\/runs\/(run_[^"]+)"/g)].map((m) => m[1] ?? ''));
      path = /<a href="([^"]+)" rel="next">/.exec(page.text)?.[1];
    }
    assert.equal(seen.length, new Set(seen).size, 'no run twice');
    assert.deepEqual(new Set(seen), ids);
    const failed = await admin.get('/ui/runs?workflow=dash.quick&status=failed&errorCode=E_CONFLICT');
    assert.equal([...failed.text.matchAll(/<tr>\s*<td><a href="\/ui\/runs\//g)].length, 20);
    const malformed = await admin.get('/ui/runs?errorCode=lower-case&minCostUsd=lots');
    assert.equal(malformed.status, 400);
    assert.match(malformed.text, /E_INVALID_INPUT/);
    assert.match(malformed.text, /errorCode|minCostUsd/);
  });

  it('previews a bulk cancel, and refuses it when the set changed since the preview', async () => {
    const runs = [await env.start('dash.sleepy', {}), await env.start('dash.sleepy', {})];
    for (const id of runs) await env.waitForStatus(id, 'waiting');
    const preview = await admin.get('/ui/runs/bulk?workflow=dash.sleepy&status=waiting&action=cancel');
    const count = Number(/id="bulk-count">(\d+)/.exec(preview.text)?.[1]);
    assert.ok(count >= 2);
    const filter = JSON.stringify({ workflow: 'dash.sleepy', status: 'waiting' });
    const stale = await admin.post('/ui/runs/bulk', { action: 'cancel', filter, expect: String(count + 5) });
    assert.match(flashOf(stale), /E_CONFLICT/);
    for (const id of runs) await env.waitForStatus(id, 'waiting', 100);
    const done = await admin.post('/ui/runs/bulk', { action: 'cancel', filter, expect: String(count) });
    assert.match(flashOf(done), new RegExp(`cancel: ${count} runs`));
    for (const id of runs) await env.waitForStatus(id, 'cancelled');
  });

  it('answers an unknown or malformed run id with a 404 page naming it, changing nothing', async () => {
    const before = await tableCount('orch_runs');
    const unknown = await admin.get('/ui/runs/run_01ZZZZZZZZZZZZZZZZZZZZZZZZ');
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /E_NOT_FOUND/);
    const malformed = await admin.get('/ui/runs/not-a-run');
    assert.equal(malformed.status, 404);
    assert.match(malformed.text, /E_NOT_FOUND/);
    assert.equal(await tableCount('orch_runs'), before);
  });

  it('streams a run’s output to its page with the session cookie, ending with done', async () => {
    const runId = await env.start('dash.quick', {});
    await env.waitForStatus(runId, 'completed');
    const stream = await admin.get(`/ui/runs/${runId}/stream`);
    assert.equal(stream.status, 200);
    assert.match(stream.text, /event: done\ndata: \{"status":"completed"/);
    const anonymous = await fetch(`${env.url}/ui/runs/${runId}/stream`, { redirect: 'manual' });
    assert.equal(anonymous.status, 303);
  });

  it('shows a run’s timeline and serves its journal as a download', async () => {
    const runId = await env.start('dash.quick', {});
    await env.waitForStatus(runId, 'completed');
    const page = await admin.get(`/ui/runs/${runId}`);
    assert.match(page.text, /status-completed/);
    const journal = await admin.get(`/ui/runs/${runId}/journal.json`);
    assert.match(journal.headers.get('content-disposition') ?? '', /attachment/);
    assert.equal((JSON.parse(journal.text) as { run: { id: string } }).run.id, runId);
  });
});
