/**
 * `strata tokens explain` as a user runs it: a 3-link delegation chain invoked by its final audience
 * prints every link and ALLOWED (exit 0, and the invocation is not used up: explaining twice gives
 * the same answer); the same chain invoked by a thief's key prints REFUSED with E_DELEGATION_INVOKER
 * and exits with the denial status; `-` reads the invocation from stdin.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonOf, seedAdminKey, tempCli } from '../src/cli/testing.ts';
import { EXIT } from '../src/kernel/index.ts';
import { delegate, invoke, testSigner } from '../src/identity/delegation/testing.ts';

void describe('strata tokens explain', () => {
  const cli = tempCli();
  let env: Record<string, string>;
  let allowed: string;
  let stolen: string;
  before(async () => {
    env = await seedAdminKey(cli.dataDir);
    const [alice, bob, carol, dave, thief] = [
      testSigner(),
      testSigner(),
      testSigner(),
      testSigner(),
      testSigner(),
    ];
    const nowSeconds = Math.floor(Date.now() / 1000);
    const prf = [
      await delegate(alice, bob, { nowSeconds, cmd: '/crypto' }),
      await delegate(bob, carol, { nowSeconds, sub: alice.did, cmd: '/crypto/sign' }),
      await delegate(carol, dave, { nowSeconds, sub: alice.did, cmd: '/crypto/sign' }),
    ];
    allowed = await invoke(dave, { nowSeconds, sub: alice.did, cmd: '/crypto/sign', prf });
    stolen = await invoke(thief, { nowSeconds, sub: alice.did, cmd: '/crypto/sign', prf });
  });
  after(() => cli.dispose());

  void it('prints the chain and ALLOWED, twice (explaining never uses the invocation up)', async () => {
    for (let i = 0; i < 2; i++) {
      const result = await cli.run(['tokens', 'explain', allowed], { env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^#0 .*\/crypto /m);
      assert.match(result.stdout, /^#2 .*\/crypto\/sign /m);
      assert.match(result.stdout, /^ALLOWED \(/m);
    }
  });

  void it('refuses a chain invoked by another key, from stdin, with the denial exit status', async () => {
    const result = await cli.run(['tokens', 'explain', '-', '--json'], { env, stdin: stolen });
    assert.equal(result.code, EXIT.denied);
    const out = jsonOf<{ allowed: boolean; code: string; chain: unknown[] }>(result);
    assert.deepEqual([out.allowed, out.code], [false, 'E_DELEGATION_INVOKER']);
    assert.equal(out.chain.length, 4, 'three links and the invocation');
  });
});
