// Chaos's `ledger_conflict` on the real ledger, on both engines: a budget reservation (what
// provision.create's admission makes) meets a concurrent write to its accounts and fails with the
// store's retryable E_STORE — a real serialization failure (40001) on PostgreSQL, a real
// SQLITE_BUSY from a second connection holding the write lock on SQLite — holding nothing; the
// pipeline retries the idempotent call and the next attempt reserves. A spend-token reservation
// (a provision paid with a token) meets it the same way. Audit entries mark the fault.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { defineSyscall, isStrataError, Kernel, type Principal, type Store } from '../../kernel/index.ts';
import { faultEvery, faultFirstAttemptOnly, faultsOf, testInjector } from '../../kernel/chaos/testing.ts';
import { createSqliteStore } from '../../kernel/store/drivers/sqlite/index.ts';
import { freshDatabase } from '../../testkit/stores.ts';
import { Billing } from './billing.ts';
import { SpendTokens } from './spend-tokens.ts';
import { billingSyscalls } from './syscalls.ts';
import { principalInNewTenant } from '../../testkit/principals.ts';

type Budgets = { budgets: { held: string }[] };

/** SQLite with a short busy timeout, so losing the write lock takes 100 ms, not the default 5 s. */
async function sqliteStore(): Promise<{ store: Store; drop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-ledger-chaos-'));
  const store = await createSqliteStore({ path: join(dir, 'test.db'), busyTimeoutMs: 100 });
  return { store, drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
}

async function postgresStore(): Promise<{ store: Store; drop: () => Promise<void> }> {
  const db = await freshDatabase('postgres');
  return { store: await db.open(), drop: () => db.drop() };
}

for (const [dialect, open, driverCode] of [
  ['sqlite', sqliteStore, 'SQLITE_BUSY'],
  ['postgres', postgresStore, '40001'],
] as const) {
  void describe(`ledger_conflict on ${dialect}`, () => {
    const chaos = testInjector();
    let opened: Awaited<ReturnType<typeof open>>;
    let billing: Billing;
    let tokens: SpendTokens;
    let kernel: Kernel;
    let admin: Principal;
    const call = <T>(name: string, input: unknown): Promise<T> =>
      kernel.call<T>(name, input, { principal: admin });
    const held = async (): Promise<string | undefined> =>
      (await call<Budgets>('billing.budgets.list', {})).budgets[0]?.held;

    before(async () => {
      opened = await open();
      billing = await Billing.open({ store: opened.store, holdTimeoutMs: 60_000 });
      kernel = await Kernel.open({ store: opened.store, masterKey: randomBytes(32), chaos });
      for (const definition of billingSyscalls(billing)) kernel.register(definition);
      // What provision.create's admission does before a resource is made: hold its price.
      kernel.register(
        defineSyscall({
          name: 'provision.hold',
          description: 'holds 0.25 against the tenant budgets, as a provision admission does',
          input: z.object({}),
          output: z.object({ reservation: z.string().nullable() }),
          idempotency: 'idempotent',
          retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
          handler: async (_input, ctx) => ({
            reservation: await billing.budgets.reserve(
              {
                tenantId: ctx.tenantId,
                principalId: ctx.principal.id,
                kind: 'provision',
                syscall: 'provision.create',
              },
              250_000n,
            ),
          }),
        }),
      );
      tokens = await SpendTokens.open({ store: opened.store, ledger: billing.ledger });
      // What provision.create does when it is paid with a spend token: reserve the price on it.
      kernel.register(
        defineSyscall({
          name: 'provision.pay',
          description: 'reserves 0.25 on a spend token, as a provision paid with one does',
          input: z.object({ secret: z.string(), key: z.string() }),
          output: z.object({ status: z.string() }),
          idempotency: 'idempotent',
          retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
          handler: async (input, ctx) =>
            tokens.reserve(ctx.tenantId, {
              secret: input.secret,
              amount: '0.25',
              purchase: { kind: 'sqlite' },
              idempotencyKey: input.key,
            }),
        }),
      );
      admin = await principalInNewTenant(kernel, 'ledger', [{ syscall: '*', resource: '*' }]);
      await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: '10.00' });
    });
    after(async () => {
      await billing?.close();
      await kernel?.close(1000);
      await opened?.drop();
    });

    it('a reservation that loses to a concurrent write fails retryably and holds nothing', async () => {
      faultEvery(chaos, 'provision.hold', 'ledger_conflict');
      await assert.rejects(call('provision.hold', {}), (error: unknown) => {
        assert.ok(isStrataError(error));
        assert.equal(error.code, 'E_STORE', error.message);
        assert.equal(error.retryable, true);
        assert.equal((error.data as { driverCode: string }).driverCode, driverCode);
        return true;
      });
      const marks = await faultsOf(kernel, admin.tenantId, 'provision.hold');
      assert.deepEqual(
        marks.map((m) => [m.kind, m.layer, m.attempt, m.realised]),
        [1, 2, 3].map((attempt) => ['ledger_conflict', 'provisioning', attempt, true]),
      );
      assert.equal(await held(), '0.00');
    });

    it('the pipeline retries the idempotent call and the next attempt reserves', async () => {
      faultFirstAttemptOnly(chaos, 'provision.hold', 'ledger_conflict');
      const { reservation } = await call<{ reservation: string | null }>('provision.hold', {});
      assert.match(reservation ?? '', /^rsv/);
      assert.deepEqual(await faultsOf(kernel, admin.tenantId, 'provision.hold'), [
        { kind: 'ledger_conflict', layer: 'provisioning', rule: 'rules[0]', attempt: 1, realised: true },
      ]);
      assert.equal(await held(), '0.25');
      faultEvery(chaos);
    });

    it('a spend-token reservation meets the same conflict, and the retry reserves once', async () => {
      const { token, info } = await tokens.issue(admin.tenantId, {
        scope: { kinds: ['sqlite'] },
        currency: 'USD',
        maxAmount: '1.00',
        expiresAt: Date.now() + 3_600_000,
      });
      faultEvery(chaos, 'provision.pay', 'ledger_conflict');
      const pay = { secret: token, key: 'provision:res_1' };
      await assert.rejects(call('provision.pay', pay), (error: unknown) => {
        assert.ok(isStrataError(error) && error.code === 'E_STORE' && error.retryable);
        return true;
      });
      assert.equal((await tokens.inspect(admin.tenantId, info.id)).remainingAmount, 1_000_000n);
      faultFirstAttemptOnly(chaos, 'provision.pay', 'ledger_conflict');
      assert.equal((await call<{ status: string }>('provision.pay', pay)).status, 'pending');
      assert.deepEqual(
        (await faultsOf(kernel, admin.tenantId, 'provision.pay')).map((m) => [m.attempt, m.realised]),
        [[1, true]],
      );
      assert.equal((await tokens.inspect(admin.tenantId, info.id)).remainingAmount, 750_000n);
      faultEvery(chaos);
    });
  });
}
