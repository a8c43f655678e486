import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { z } from 'zod';
import { ManualClock } from '../../kernel/clock.ts';
import { defineSyscall, Kernel, type Principal, type Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { Billing } from './billing.ts';
import { periodOf } from './budgets.ts';
import { parseMoney } from './money.ts';
import { billingSyscalls } from './syscalls.ts';

const usd = (amount: string): bigint => parseMoney(amount, 'USD').micros;
type BudgetOut = {
  id: string;
  spent: string;
  held: string;
  available: string;
  periodKey: string;
  alerts: { threshold: number }[];
};

onEveryStore('billing budgets through the kernel pipeline', (db) => {
  let store: Store;
  let billing: Billing;
  let kernel: Kernel;
  let admin: Principal;
  let agent: Principal;
  const clock = new ManualClock(new Date('2026-11-30T23:00:00.000Z'));
  let tenantCounter = 0;

  const principalIn = async (tenantId: string, name: string): Promise<Principal> => {
    const { key } = await kernel.principals.createApiKey({
      tenantId,
      name,
      grants: [{ syscall: '*', resource: '*' }],
    });
    return kernel.authenticate({ apiKey: key });
  };
  const freshTenant = async (): Promise<{ admin: Principal; agent: Principal }> => {
    const tenant = await kernel.principals.createTenant(`acme${tenantCounter++}`);
    return { admin: await principalIn(tenant.id, 'admin'), agent: await principalIn(tenant.id, 'agent') };
  };
  const call = <T>(name: string, input: unknown, principal = admin): Promise<T> =>
    kernel.call<T>(name, input, { principal });
  const paid = (cost: string, principal = agent, fail = false): Promise<unknown> =>
    call('test.paid', { cost, fail }, principal);

  before(async () => {
    store = await db().open();
    billing = await Billing.open({ store, clock, holdTimeoutMs: 60_000 });
    kernel = await Kernel.open({
      store,
      masterKey: randomBytes(32),
      clock,
      budget: billing.budgetHook,
      meter: billing.meterHook,
    });
    for (const definition of billingSyscalls(billing)) kernel.register(definition);
    kernel.register(
      defineSyscall({
        name: 'test.paid',
        description: 'costs at most 0.30; the actual cost is the input',
        input: z.object({ cost: z.string(), fail: z.boolean() }),
        output: z.object({ ok: z.boolean() }),
        idempotency: 'unsafe',
        retry: { attempts: 1 },
        estimateCost: () => 300_000,
        actualCost: (input) => Number(parseMoney(input.cost, 'USD').micros),
        handler: (input) => {
          if (input.fail) throw new Error('the tool broke');
          return { ok: true };
        },
      }),
    );
    ({ admin, agent } = await freshTenant());
  });
  after(async () => {
    await billing.close();
    await kernel.close(1000);
  });

  it('holds the estimate, posts the actual cost, voids on failure, refuses at the cap', async () => {
    const budget = await call<BudgetOut>('billing.budgets.set', {
      scope: 'tenant',
      period: 'month',
      limit: '1.00',
      thresholds: [50, 90],
    });
    assert.equal(budget.available, '1.00');
    assert.equal(budget.periodKey, 'm2026-11');
    await paid('0.25');
    await paid('0.30');
    await assert.rejects(paid('0.10', agent, true), withCode('E_INTERNAL'));
    let status = await call<BudgetOut>('billing.budgets.get', { id: budget.id });
    assert.deepEqual([status.spent, status.held, status.available], ['0.55', '0.00', '0.45']);
    assert.deepEqual(
      status.alerts.map((a) => a.threshold),
      [50],
    );
    await paid('0.30');
    // 0.15 left: the 0.30 estimate no longer fits, so the call is refused before it runs.
    await assert.rejects(paid('0.01'), withCode('E_BUDGET_EXCEEDED'));
    status = await call<BudgetOut>('billing.budgets.get', { id: budget.id });
    assert.deepEqual([status.spent, status.held, status.available], ['0.85', '0.00', '0.15']);
    assert.deepEqual(
      status.alerts.map((a) => a.threshold),
      [50],
    );
    // billing.* calls are never held, so the tenant can raise its budget.
    status = await call<BudgetOut>('billing.budgets.set', {
      scope: 'tenant',
      period: 'month',
      limit: '2.00',
      thresholds: [50, 90],
    });
    assert.equal(status.available, '1.15');
    await paid('0.10');
    const trial = await call<{ currencies: { difference: string }[] }>('billing.ledger.trial_balance', {});
    for (const line of trial.currencies) assert.equal(line.difference, '0.00');
  });

  it('starts a new month at 00:00 UTC on the 1st (injected clock)', async () => {
    const t = await freshTenant();
    clock.set(new Date('2026-11-30T23:59:59.000Z'));
    const budget = await call<BudgetOut>(
      'billing.budgets.set',
      { scope: 'tenant', period: 'month', limit: '0.30' },
      t.admin,
    );
    await paid('0.30', t.agent);
    clock.set(new Date('2026-11-30T23:59:59.999Z'));
    await assert.rejects(paid('0.30', t.agent), withCode('E_BUDGET_EXCEEDED'));
    clock.set(new Date('2026-12-01T00:00:00.000Z'));
    await paid('0.30', t.agent);
    const status = await call<BudgetOut>('billing.budgets.get', { id: budget.id }, t.admin);
    assert.deepEqual([status.periodKey, status.spent], ['m2026-12', '0.30']);
    clock.set(new Date('2026-11-30T23:00:00.000Z'));
  });

  it('computes UTC day, ISO week and month periods', () => {
    const at = (iso: string): number => Date.parse(iso);
    assert.equal(periodOf('day', at('2026-12-31T23:59:59.999Z')).key, 'd2026-12-31');
    assert.equal(periodOf('day', at('2027-01-01T00:00:00.000Z')).key, 'd2027-01-01');
    assert.equal(periodOf('week', at('2026-11-29T23:59:59.999Z')).key, 'w2026-11-23'); // Sunday
    assert.equal(periodOf('week', at('2026-11-30T00:00:00.000Z')).key, 'w2026-11-30'); // Monday
    assert.equal(periodOf('week', at('2027-01-01T12:00:00.000Z')).key, 'w2026-12-28'); // across the year
    assert.equal(periodOf('month', at('2028-02-29T12:00:00.000Z')).end, at('2028-03-01T00:00:00.000Z'));
    assert.equal(periodOf('month', at('2026-12-15T00:00:00.000Z')).end, at('2027-01-01T00:00:00.000Z'));
    assert.equal(periodOf('lifetime', 0).key, 'lifetime');
  });

  it('checks every applicable budget (agent, kind, tenant) all or nothing', async () => {
    const t = await freshTenant();
    const tenantBudget = await call<BudgetOut>(
      'billing.budgets.set',
      { scope: 'tenant', period: 'lifetime', limit: '10.00' },
      t.admin,
    );
    const agentBudget = await call<BudgetOut>(
      'billing.budgets.set',
      { scope: 'agent', subject: t.agent.id, period: 'day', limit: '0.50' },
      t.admin,
    );
    await call(
      'billing.budgets.set',
      { scope: 'kind', subject: 'test', period: 'week', limit: '5.00' },
      t.admin,
    );
    await paid('0.20', t.agent); // 0.30 left on the agent budget
    await paid('0.20', t.agent); // the 0.30 estimate still fits; 0.10 left
    await assert.rejects(paid('0.01', t.agent), withCode('E_BUDGET_EXCEEDED'));
    const agentStatus = await call<BudgetOut>('billing.budgets.get', { id: agentBudget.id }, t.admin);
    assert.deepEqual([agentStatus.spent, agentStatus.held, agentStatus.available], ['0.40', '0.00', '0.10']);
    const tenantStatus = await call<BudgetOut>('billing.budgets.get', { id: tenantBudget.id }, t.admin);
    assert.deepEqual(
      [tenantStatus.spent, tenantStatus.held],
      ['0.40', '0.00'],
      'the refused call left nothing',
    );
    // The admin is another agent: only the tenant and kind budgets apply.
    await paid('0.30', t.admin);
  });

  it('a soft budget lets work through and fires its alerts', async () => {
    const t = await freshTenant();
    const budget = await call<BudgetOut>(
      'billing.budgets.set',
      { scope: 'tenant', period: 'month', limit: '0.40', mode: 'soft', thresholds: [50, 100, 150] },
      t.admin,
    );
    await paid('0.30', t.agent);
    await paid('0.30', t.agent);
    const status = await call<BudgetOut>('billing.budgets.get', { id: budget.id }, t.admin);
    assert.deepEqual([status.spent, status.available], ['0.60', '-0.20']);
    assert.deepEqual(
      status.alerts.map((a) => a.threshold),
      [50, 100, 150],
    );
  });

  it('expired holds are voided so a crashed call never blocks the budget', async () => {
    const t = await freshTenant();
    const budget = await call<BudgetOut>(
      'billing.budgets.set',
      { scope: 'tenant', period: 'lifetime', limit: '0.50' },
      t.admin,
    );
    const request = {
      tenantId: t.agent.tenantId,
      principalId: t.agent.id,
      kind: 'test',
      syscall: 'test.paid',
    };
    const leaked = await billing.budgets.reserve(request, usd('0.40')); // never committed: the process "died"
    assert.ok(leaked);
    await assert.rejects(billing.budgets.reserve(request, usd('0.20')), withCode('E_BUDGET_EXCEEDED'));
    clock.advance(60_000);
    // The next reservation expires the overdue hold itself, before the reaper runs.
    const next = await billing.budgets.reserve(request, usd('0.20'));
    assert.ok(next);
    await billing.budgets.commit(t.agent.tenantId, next, usd('0.20'));
    assert.equal((await billing.ledger.expireDue()) >= 0, true);
    const status = await call<BudgetOut>('billing.budgets.get', { id: budget.id }, t.admin);
    assert.deepEqual([status.spent, status.held, status.available], ['0.20', '0.00', '0.30']);
    const holds = await store.all<{ status: string }>(
      'SELECT status FROM bill_pending WHERE reservation_id = ?',
      [leaked],
    );
    assert.deepEqual(
      holds.map((h) => h.status),
      ['expired'],
    );
    clock.set(new Date('2026-11-30T23:00:00.000Z'));
  });

  it('a lower limit mid-period returns only what is neither spent nor held; never negative', async () => {
    const t = await freshTenant();
    await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: '1.00' }, t.admin);
    await paid('0.30', t.agent);
    let status = await call<BudgetOut>(
      'billing.budgets.set',
      { scope: 'tenant', period: 'month', limit: '0.10' },
      t.admin,
    );
    assert.deepEqual([status.spent, status.available], ['0.30', '0.00']);
    await assert.rejects(paid('0.01', t.agent), withCode('E_BUDGET_EXCEEDED'));
    status = await call<BudgetOut>(
      'billing.budgets.set',
      { scope: 'tenant', period: 'month', limit: '1.00' },
      t.admin,
    );
    assert.deepEqual([status.spent, status.available], ['0.30', '0.70']);
    const trial = await billing.ledger.trialBalance(t.admin.tenantId);
    for (const line of trial) assert.equal(line.difference, 0n);
  });

  it('refuses bad budget input with stable codes and creates nothing', async () => {
    const t = await freshTenant();
    const bad: [unknown, string][] = [
      [{ scope: 'tenant', period: 'month', limit: '-1.00' }, 'E_INVALID_MONEY'],
      [{ scope: 'tenant', period: 'month', limit: 'NaN' }, 'E_INVALID_MONEY'],
      [{ scope: 'tenant', period: 'month', limit: 'Infinity' }, 'E_INVALID_MONEY'],
      [{ scope: 'tenant', period: 'month', limit: '1.001' }, 'E_INVALID_MONEY'],
      [{ scope: 'tenant', period: 'month', limit: 5 }, 'E_INVALID_INPUT'],
      [{ scope: 'tenant', period: 'month', limit: '1.00', currency: 'XYZ' }, 'E_UNKNOWN_CURRENCY'],
      [{ scope: 'agent', period: 'month', limit: '1.00' }, 'E_INVALID_INPUT'],
      [{ scope: 'tenant', period: 'fortnight', limit: '1.00' }, 'E_INVALID_INPUT'],
    ];
    for (const [input, code] of bad)
      await assert.rejects(
        call('billing.budgets.set', input, t.admin),
        withCode(code),
        JSON.stringify(input),
      );
    assert.deepEqual((await call<{ budgets: unknown[] }>('billing.budgets.list', {}, t.admin)).budgets, []);
    await assert.rejects(
      call('billing.budgets.get', { id: 'bud_missing' }, t.admin),
      withCode('E_NOT_FOUND'),
    );
  });

  it('every metered syscall emits one syscall.cost meter event', async () => {
    const t = await freshTenant();
    const from = clock.now();
    await paid('0.05', t.agent);
    await paid('0.07', t.agent);
    const sum = await call<{ value: string; events: number }>(
      'billing.meters.aggregate',
      { type: 'syscall.cost', from, to: from + 1, aggregation: 'sum', subject: `agent:${t.agent.id}` },
      t.admin,
    );
    assert.deepEqual([sum.value, sum.events], ['0.12', 2]);
  });
});
