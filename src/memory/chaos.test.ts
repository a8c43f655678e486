// Chaos's `memory_search_timeout` on the real memory service (SQLite): the search's index read
// stalls past the search's deadline and fails with a retryable E_SYSCALL_TIMEOUT; memory.search is
// pure, so the pipeline retries it and the second attempt finds the memory. The audit entry marks
// the fault as realised on the first attempt.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { isStrataError, Kernel, type Principal } from '../kernel/index.ts';
import { faultEvery, faultFirstAttemptOnly, faultsOf, testInjector } from '../kernel/chaos/testing.ts';
import { createSqliteStore } from '../kernel/store/drivers/sqlite/index.ts';
import { MemoryService } from './memory.ts';
import { memorySyscalls } from './syscalls.ts';
import { principalInNewTenant } from '../testkit/principals.ts';

type Hits = { hits: { memory: { text: string } }[] };

const chaos = testInjector();
let kernel: Kernel;
let admin: Principal;
const search = { scope: { agentId: 'a1' }, query: 'vault combination', timeoutMs: 200 };

before(async () => {
  const store = await createSqliteStore({ path: ':memory:' });
  kernel = await Kernel.open({ store, masterKey: randomBytes(32), chaos });
  for (const d of memorySyscalls(await MemoryService.open({ store }), { kernel })) kernel.register(d);
  admin = await principalInNewTenant(kernel, 'mem-chaos', [{ syscall: '*', resource: '*' }]);
  await kernel.call(
    'memory.add',
    { scope: { agentId: 'a1' }, text: 'The vault combination is kept by Ana', infer: false },
    { principal: admin },
  );
});
after(() => kernel.close());

it('memory_search_timeout: every attempt stalls past its deadline; the search fails with E_SYSCALL_TIMEOUT', async () => {
  faultEvery(chaos, 'memory.search', 'memory_search_timeout');
  const started = Date.now();
  await assert.rejects(kernel.call('memory.search', search, { principal: admin }), (error: unknown) => {
    assert.ok(isStrataError(error));
    assert.equal(error.code, 'E_SYSCALL_TIMEOUT', error.message);
    assert.equal(error.retryable, true);
    assert.deepEqual(error.data, { timeoutMs: 200 });
    return true;
  });
  const waited = Date.now() - started;
  assert.ok(waited >= 3 * 200 && waited < 15_000, `three attempts of 200 ms took ${waited} ms`);
  const marks = await faultsOf(kernel, admin.tenantId, 'memory.search');
  assert.deepEqual(
    marks.map((m) => [m.kind, m.layer, m.attempt, m.realised]),
    [1, 2, 3].map((attempt) => ['memory_search_timeout', 'memory', attempt, true]),
  );
});

it('memory_search_timeout: the pipeline retries the pure search and the second attempt answers', async () => {
  faultFirstAttemptOnly(chaos, 'memory.search', 'memory_search_timeout');
  const found = await kernel.call<Hits>('memory.search', search, { principal: admin });
  assert.deepEqual(
    found.hits.map((h) => h.memory.text),
    ['The vault combination is kept by Ana'],
  );
  assert.deepEqual(await faultsOf(kernel, admin.tenantId, 'memory.search'), [
    { kind: 'memory_search_timeout', layer: 'memory', rule: 'rules[0]', attempt: 1, realised: true },
  ]);
  faultEvery(chaos);
});
