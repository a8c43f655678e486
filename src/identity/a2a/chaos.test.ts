// Chaos's `a2a_timeout` on a real A2A agent built with the SDK (SQLite): the message's request
// never gets an answer, the call's timeout ends it with a retryable E_SYSCALL_TIMEOUT, and the
// caller's retry reaches the healthy agent. The audit entry marks the fault as realised.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { isStrataError, Kernel, type Principal } from '../../kernel/index.ts';
import { faultEvery, faultFirstAttemptOnly, faultsOf, testInjector } from '../../kernel/chaos/testing.ts';
import { freshDatabase, withCode } from '../../testkit/stores.ts';
import { a2aSyscalls } from './syscalls.ts';
import { sdkServer, type Listening } from './testing.ts';
import { principalInNewTenant } from '../../testkit/principals.ts';

const chaos = testInjector();
let db: Awaited<ReturnType<typeof freshDatabase>>;
let kernel: Kernel;
let sdk: Listening;
let caller: Principal;

before(async () => {
  db = await freshDatabase('sqlite');
  kernel = await Kernel.open({ store: await db.open(), masterKey: randomBytes(32), chaos });
  for (const s of a2aSyscalls({ allowPrivate: true })) kernel.register(s);
  sdk = await sdkServer();
  caller = await principalInNewTenant(kernel, 'a2a-chaos', [
    { syscall: 'a2a.call', resource: 'a2a/remote/*' },
  ]);
});
after(async () => {
  await sdk?.close();
  await kernel?.close();
  await db?.drop();
});

it('a2a_timeout: the agent never answers; the call times out with a retryable E_SYSCALL_TIMEOUT', async () => {
  faultEvery(chaos, 'a2a.call', 'a2a_timeout');
  const started = Date.now();
  await assert.rejects(
    kernel.call('a2a.call', { url: sdk.url, text: 'hello', timeoutMs: 300 }, { principal: caller }),
    (error: unknown) => {
      assert.ok(isStrataError(error));
      assert.equal(error.code, 'E_SYSCALL_TIMEOUT', error.message);
      assert.equal(error.retryable, true);
      assert.deepEqual(error.data, { agent: 'sdk-echo', timeoutMs: 300 });
      return true;
    },
  );
  const waited = Date.now() - started;
  assert.ok(waited >= 300 && waited < 10_000, `waited ${waited} ms`);
  // Unsafe without an idempotency key: one attempt, no retry.
  assert.deepEqual(await faultsOf(kernel, caller.tenantId, 'a2a.call'), [
    { kind: 'a2a_timeout', layer: 'identity', rule: 'rules[0]', attempt: 1, realised: true },
  ]);
});

it('a2a_timeout: the caller retries (a2a.call is unsafe: the pipeline does not) and the agent answers', async () => {
  faultFirstAttemptOnly(chaos, 'a2a.call', 'a2a_timeout');
  const ask = (): Promise<{ state: string; text: string }> =>
    kernel.call('a2a.call', { url: sdk.url, text: 'hello again', timeoutMs: 300 }, { principal: caller });
  await assert.rejects(ask(), withCode('E_SYSCALL_TIMEOUT'));
  const answer = await ask();
  assert.deepEqual([answer.state, answer.text], ['TASK_STATE_COMPLETED', 'sdk says: hello again']);
  assert.deepEqual(await faultsOf(kernel, caller.tenantId, 'a2a.call'), [], 'the retry was not faulted');
  faultEvery(chaos);
});
