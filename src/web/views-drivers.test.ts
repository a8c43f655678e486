// Driver health end to end, on a real server and runtime (SQLite) whose Chromium path is broken and
// whose SMTP relay is a closed loopback port: after a failed browser.open and three failed sends,
// `fleet.drivers` over the HTTP API reads the browser pool and the relay unhealthy (sandboxes
// healthy); `strata problems --json` lists both as `driver` items, count equal to the items; the
// needs-you view shows them as rows linked to their layer's page, the badge counting them; the
// compute and identity pages show their drivers' health; a read-only session sees the same.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { jsonOf, runCli } from '../cli/testing.ts';
import type { DriverHealth } from '../kernel/index.ts';
import type { Problems } from '../orchestration/problems/types.ts';
import { closedPort } from '../testkit/ports.ts';
import { withCode } from '../testkit/stores.ts';
import { openDashboardEnv, type Browser, type DashboardTestEnv } from './testing.ts';

let env: DashboardTestEnv;
let admin: Browser;

before(async () => {
  env = await openDashboardEnv({
    config: {
      browser: { executablePath: '/nonexistent/chromium', spareContexts: 0 },
      mail: { relayUrl: `smtp://127.0.0.1:${await closedPort()}` },
    },
  });
  const principal = await env.runtime.kernel.authenticate({ apiKey: env.adminKey });
  const call = (name: string, input: unknown) => env.runtime.kernel.call(name, input, { principal });
  await assert.rejects(call('browser.open', { allowUrls: ['http://127.0.0.1'] }), withCode('E_UNAVAILABLE'));
  await env.runtime.kernel.principals.createAgent({ tenantId: env.tenantId, name: 'courier' });
  await call('mail.mailboxes.create', { agent: 'courier', address: 'courier@agents.test' });
  const send = { mailbox: 'courier@agents.test', to: 'bob@elsewhere.test', subject: 'hi', text: 'x' };
  for (let i = 0; i < 3; i++) await assert.rejects(call('mail.send', send), withCode('E_MAIL_SEND_FAILED'));
  admin = await env.login(env.adminKey);
});
after(() => env.close());

/** `fleet.drivers` over the HTTP API, as the admin key. */
const driversOverHttp = (body: string) =>
  fetch(`${env.url}/v1/syscalls/fleet.drivers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.adminKey}`, 'content-type': 'application/json' },
    body,
  });
const readingsOf = async (res: Response) =>
  ((await res.json()) as { output: { drivers: DriverHealth[] } }).output.drivers;

it('fleet.drivers over HTTP reads the pool and the relay unhealthy, sandboxes healthy', async () => {
  const res = await driversOverHttp('{}');
  assert.equal(res.status, 200);
  const drivers = await readingsOf(res);
  const byId = new Map(drivers.map((d) => [d.id, d]));
  assert.equal(byId.get('browser.pool')?.status, 'unhealthy');
  assert.match(byId.get('browser.pool')?.reason ?? '', /cannot launch Chromium at \/nonexistent\/chromium/);
  assert.equal(byId.get('mail.relay')?.status, 'unhealthy');
  assert.match(byId.get('mail.relay')?.reason ?? '', /the last 3 sends failed \(3\)/);
  assert.equal(byId.get('sandbox.drivers')?.status, 'healthy');
  assert.ok(!JSON.stringify(drivers).includes('bob@'), 'no recipient in any reading');
  const compute = await readingsOf(await driversOverHttp('{"layer":"compute"}'));
  assert.deepEqual(compute.map((d) => d.id).sort(), ['browser.pool', 'sandbox.drivers']);
  const bad = await driversOverHttp('{"layer":5}');
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /E_INVALID_INPUT/);
});

it('strata problems lists them as driver items, with the read that shows their layer', async () => {
  const cli = (...args: string[]) => runCli(['problems', '--url', env.url, '--key', env.adminKey, ...args]);
  const [json, text] = await Promise.all([cli('--json'), cli('--kind', 'driver')]);
  assert.equal(json.code, 0, json.stderr);
  const doc = jsonOf<Problems>(json);
  assert.equal(doc.count, doc.items.length);
  const drivers = doc.items.filter((i) => i.kind === 'driver');
  assert.deepEqual(drivers.map((d) => d.id).sort(), ['browser.pool', 'mail.relay']);
  const pool = drivers.find((d) => d.id === 'browser.pool');
  assert.deepEqual(pool?.driver, { layer: 'compute', status: 'unhealthy' });
  assert.deepEqual(pool?.action, { syscall: 'fleet.drivers', input: { layer: 'compute' } });
  assert.match(pool?.reason ?? '', /^browser pool: cannot launch Chromium/);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /^driver +browser\.pool .* browser pool: cannot launch .* -> fleet\.drivers compute$/m,
  );
  assert.match(
    text.stdout,
    /^driver +mail\.relay .* SMTP relay 127\.0\.0\.1:\d+: the last 3 sends .* -> fleet\.drivers identity$/m,
  );
  assert.match(text.stdout, /^2 items need you$/m);
});

it('the needs-you view shows them linked to their layer pages; the badge counts them', async () => {
  for (const session of [admin, await env.login(env.adminKey, { readOnly: true })]) {
    const home = await session.get('/ui');
    assert.equal(home.status, 200);
    const rows = [...home.text.matchAll(/<tr data-kind="([a-z_]+)">/g)].map((m) => m[1]);
    assert.deepEqual(rows, ['driver', 'driver']);
    assert.equal(Number(/<span class="badge"[^>]*>(\d+)<\/span>/.exec(home.text)?.[1]), rows.length);
    assert.match(home.text, /browser pool: cannot launch Chromium[\s\S]*?<a href="\/ui\/layers\/compute">/);
    assert.match(
      home.text,
      /SMTP relay 127\.0\.0\.1:\d+: the last 3 sends[\s\S]*?<a href="\/ui\/layers\/identity">/,
    );
    const compute = await session.get('/ui/layers/compute');
    assert.match(compute.text, /<tr data-driver="browser\.pool">[\s\S]*?status-failed">unhealthy</);
    assert.match(compute.text, /<tr data-driver="sandbox\.drivers">[\s\S]*?status-completed">healthy</);
    const identity = await session.get('/ui/layers/identity');
    assert.match(identity.text, /<tr data-driver="mail\.relay">[\s\S]*?unhealthy/);
  }
});
