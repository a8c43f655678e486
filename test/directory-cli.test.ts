/**
 * `strata agents directory` as a user runs it against an A2A server built from the SDK's parts on
 * loopback: refused while `network.allowPrivate` is off (the default), then, with it on, added from
 * its verified card, listed, found by skill and removed.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sdkServer, type Listening } from '../src/identity/a2a/testing.ts';
import { seedAdminKey, tempCli } from '../src/cli/testing.ts';
import { EXIT } from '../src/kernel/index.ts';

void describe('strata agents directory', () => {
  const strict = tempCli();
  let sdk: Listening;
  let env: Record<string, string>;
  before(async () => {
    sdk = await sdkServer();
    env = await seedAdminKey(strict.dataDir);
  });
  after(async () => {
    await sdk?.close();
    strict.dispose();
  });

  void it('refuses a loopback agent by default, and adds, finds and removes it when private networks are allowed', async () => {
    const refused = await strict.run(['agents', 'directory', 'add', sdk.url], { env });
    assert.equal(refused.code, EXIT.usage, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /E_A2A_PUSH_URL_REFUSED/);

    const configFile = join(strict.dataDir, 'private.json');
    writeFileSync(configFile, JSON.stringify({ network: { allowPrivate: true } }));
    const run = (args: string[]) =>
      strict.run(['--config', configFile, 'agents', 'directory', ...args], { env });
    const added = await run(['add', sdk.url, '--json']);
    assert.equal(added.code, 0, added.stderr);
    const entry = JSON.parse(added.stdout) as { id: string; name: string; kid: string | null };
    assert.deepEqual([entry.name, entry.kid], ['sdk-echo', 'sdk-key']);

    const listed = await run(['ls']);
    assert.match(listed.stdout, /^ID +NAME +SKILLS/m);
    assert.match(listed.stdout, new RegExp(`^${entry.id} +sdk-echo +echo +signed`, 'm'));
    const found = JSON.parse((await run(['search', '--skill', 'echo', '--json'])).stdout) as {
      agents: unknown[];
    };
    assert.equal(found.agents.length, 1);
    const none = JSON.parse((await run(['search', '--skill', 'translate', '--json'])).stdout) as {
      agents: unknown[];
    };
    assert.equal(none.agents.length, 0);

    assert.equal((await run(['rm', entry.id])).code, 0);
    const gone = await run(['show', entry.id]);
    assert.equal(gone.code, EXIT.notFound, gone.stderr);
  });
});
