// `strata chaos` against a real server (SQLite runtime): `enable --seed --rate --layer` installs one
// rule per layer and switches chaos on (the server's injector, not a copy), `status` shows it as
// ACTIVE with what was injected, `disable` switches it off; a rate out of range is a usage error
// (exit 2) that changes nothing; the changes are audited as chaos.set by the operator's key.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema, type ChaosStatus, type Principal } from '../kernel/index.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';
import { startServer, type ServerHandle } from '../server/server.ts';
import { jsonOf, runCli } from './testing.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-chaos-cli-'));
let runtime: Runtime;
let server: ServerHandle;
let principal: Principal;
let key = '';

before(async () => {
  runtime = await openRuntime({ config: configSchema.parse({ dataDir }) });
  const tenantId = (await runtime.kernel.principals.createTenant('ops')).id;
  ({ key } = await runtime.kernel.principals.createApiKey({
    tenantId,
    name: 'ops',
    grants: [{ syscall: '*', resource: '*' }],
  }));
  principal = await runtime.kernel.authenticate({ apiKey: key });
  server = await startServer({ runtime, port: 0, host: '127.0.0.1' });
});
after(async () => {
  await server.close();
  await runtime.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('strata chaos enable, status and disable drive the server’s injector', async () => {
  const cli = (...args: string[]) => runCli(['chaos', ...args, '--url', server.url, '--key', key]);
  const enabled = await cli('enable', '--seed', '7', '--rate', '0.5', '--layer', 'compute,memory', '--json');
  assert.equal(enabled.code, 0, enabled.stderr);
  const doc = jsonOf<ChaosStatus>(enabled);
  assert.equal(doc.enabled, true);
  assert.equal(doc.config.seed, 7);
  assert.deepEqual(
    doc.config.rules.map((r) => [r.layer, r.errorRate]),
    [
      ['compute', 0.5],
      ['memory', 0.5],
    ],
  );
  assert.equal(runtime.chaos.enabled, true, 'the running server’s injector changed');

  const bad = await cli('enable', '--rate', '2');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--rate 2 is out of range/);

  const status = await cli('status');
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^chaos: ACTIVE \(seed 7, mode development\)/);
  assert.match(status.stdout, /rules\[1\] +memory +\* +0\.5/);

  const disabled = await cli('disable');
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.match(disabled.stdout, /^chaos: off/);
  assert.equal(runtime.chaos.enabled, false);
  await runtime.kernel.audit.flush();
  const sets = (await runtime.kernel.audit.list(principal.tenantId)).filter((e) => e.action === 'chaos.set');
  assert.deepEqual(
    sets.map((e) => [e.outcome, e.principalId]),
    [
      ['ok', principal.id],
      ['ok', principal.id],
    ],
  );
});
