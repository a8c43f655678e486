// `strata problems` against a real server (SQLite runtime): one line per item of the caller's
// tenant (an open escalation to ack, an acked one to resolve; another tenant's never), a count
// line, exit 0; `--kind approval` on an empty list prints "nothing needs you" and still exits 0;
// `--json` prints { count, items } with count === items.length.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema, type Principal } from '../kernel/index.ts';
import type { Problems } from '../orchestration/problems/types.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';
import { startServer, type ServerHandle } from '../server/server.ts';
import { jsonOf, runCli } from './testing.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-problems-cli-'));
let runtime: Runtime;
let server: ServerHandle;
let key = '';
const ids: string[] = [];

async function admin(tenant: string): Promise<{ key: string; principal: Principal }> {
  const tenantId = (await runtime.kernel.principals.createTenant(tenant)).id;
  const created = await runtime.kernel.principals.createApiKey({
    tenantId,
    name: 'ops',
    grants: [{ syscall: '*', resource: '*' }],
  });
  return { key: created.key, principal: await runtime.kernel.authenticate({ apiKey: created.key }) };
}

before(async () => {
  runtime = await openRuntime({ config: configSchema.parse({ dataDir }) });
  const acme = await admin('acme');
  key = acme.key;
  const raise = async (principal: Principal, key: string, title: string): Promise<string> =>
    (
      await runtime.kernel.call<{ id: string }>(
        'escalations.raise',
        { key, severity: 'P1', title, source: 'ops' },
        { principal },
      )
    ).id;
  ids.push(await raise(acme.principal, 'disk', 'disk 90% full'));
  await new Promise((r) => setTimeout(r, 5)); // listed oldest first
  ids.push(await raise(acme.principal, 'cert', 'TLS certificate expires in 3 days'));
  await runtime.kernel.call('escalations.ack', { id: ids[1] }, { principal: acme.principal });
  await raise((await admin('other')).principal, 'theirs', 'not acme’s');
  server = await startServer({ runtime, port: 0, host: '127.0.0.1' });
});
after(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('strata problems lists the tenant’s items with their actions and exits 0, empty or not', async () => {
  const cli = (...args: string[]) => runCli(['problems', '--url', server.url, '--key', key, ...args]);
  const [text, json, empty] = await Promise.all([cli(), cli('--json'), cli('--kind', 'approval')]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.equal(lines.length, 3, text.stdout);
  assert.match(
    lines[0] ?? '',
    new RegExp(`^escalation +${ids[0]} +\\d+s  P1 disk 90% full  -> escalations\\.ack ${ids[0]}$`),
  );
  assert.match(lines[1] ?? '', new RegExp(`${ids[1]} .*acked by .* -> escalations\\.resolve ${ids[1]}$`));
  assert.equal(lines[2], '2 items need you');
  assert.ok(!text.stdout.includes('not acme'));
  assert.equal(json.code, 0, json.stderr);
  const doc = jsonOf<Problems>(json);
  assert.deepEqual([doc.count, doc.items.length, doc.items.map((i) => i.id)], [2, 2, ids]);
  assert.deepEqual([empty.code, empty.stdout.trim()], [0, 'nothing needs you']);
});
