import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { ManualClock } from '../../kernel/clock.ts';
import { Kernel, type Principal } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { Billing } from './billing.ts';
import { parseMoney } from './money.ts';
import { priceSyscalls } from './price-syscalls.ts';
import { GLOBAL_PRICES, PriceBook } from './prices.ts';
import { Rating } from './rating.ts';
import type { BillingReportJson, InvoiceJson } from './report.ts';
import { billingSyscalls } from './syscalls.ts';

type PriceOut = {
  id: string;
  scope: string;
  meter: string;
  version: number;
  unitAmount?: string;
  inEffect?: boolean;
};
const nov = (day: number): number => Date.UTC(2026, 10, day);
const DEC_1 = Date.UTC(2026, 11, 1);

onEveryStore('billing prices, invoice and report syscalls', (db) => {
  let billing: Billing;
  let prices: PriceBook;
  let kernel: Kernel;
  let principal: Principal;
  let tenantId: string;
  const clock = new ManualClock(nov(10));
  const call = <T>(name: string, input: unknown): Promise<T> => kernel.call<T>(name, input, { principal });
  const listPrices = async (): Promise<PriceOut[]> =>
    (await call<{ prices: PriceOut[] }>('billing.prices.list', {})).prices;

  before(async () => {
    const store = await db().open();
    billing = await Billing.open({ store, clock });
    prices = await PriceBook.open({ store, clock });
    const rating = new Rating({ billing, prices });
    kernel = await Kernel.open({
      store,
      clock,
      masterKey: randomBytes(32),
      budget: billing.budgetHook,
      meter: billing.meterHook,
    });
    for (const definition of billingSyscalls(billing)) kernel.register(definition);
    const definitions = priceSyscalls({
      rating,
      resources: (tenant) =>
        Promise.resolve([
          { id: 'res_1', kind: 'postgres', name: `db-${tenant.slice(0, 3)}`, state: 'ready' },
        ]),
      spendTokens: () =>
        Promise.resolve([
          {
            id: 'spt_1',
            status: 'active',
            currency: 'USD',
            maxAmount: '20.00',
            reserved: '0.00',
            captured: '1.50',
            expiresAt: DEC_1,
          },
        ]),
    });
    for (const definition of definitions) kernel.register(definition);
    const tenant = await kernel.principals.createTenant('acme');
    tenantId = tenant.id;
    const { key } = await kernel.principals.createApiKey({
      tenantId,
      name: 'admin',
      grants: [{ syscall: '*', resource: '*' }],
    });
    principal = await kernel.authenticate({ apiKey: key });
  });
  after(async () => {
    await billing.close();
    await kernel.close(1000);
  });

  it('sets, lists and gets prices; bad input gets a stable code and stores nothing', async () => {
    await prices.set({
      tenantId: GLOBAL_PRICES,
      meter: 'sqlite.ready_seconds',
      currency: 'USD',
      unitAmount: '0.00001',
      effectiveFrom: nov(20),
    });
    const set = await call<PriceOut>('billing.prices.set', {
      meter: 'postgres.ready_seconds',
      unitAmount: '0.0001',
      effectiveFrom: '2026-11-01T00:00:00.000Z',
    });
    assert.deepEqual([set.scope, set.version, set.unitAmount], ['tenant', 1, '0.0001']);
    assert.deepEqual(
      (await listPrices()).map((p) => [p.meter, p.scope, p.inEffect]),
      [
        ['postgres.ready_seconds', 'tenant', true],
        ['sqlite.ready_seconds', 'global', false],
      ],
    );
    assert.equal(
      (await call<PriceOut>('billing.prices.get', { meter: 'postgres.ready_seconds' })).id,
      set.id,
    );
    assert.equal((await call<PriceOut>('billing.prices.get', { id: set.id })).id, set.id);
    await assert.rejects(
      call('billing.prices.get', { meter: 'sqlite.ready_seconds' }),
      withCode('E_NO_PRICE'),
    );
    assert.equal(
      (
        await call<PriceOut>('billing.prices.get', {
          meter: 'sqlite.ready_seconds',
          at: '2026-11-20T00:00:00Z',
        })
      ).scope,
      'global',
    );
    const before = await listPrices();
    const cases: [Record<string, unknown>, string][] = [
      [{ unitAmount: '-1' }, 'E_INVALID_MONEY'],
      [{ unitAmount: 'NaN' }, 'E_INVALID_MONEY'],
      [{ unitAmount: '0.0000000000001' }, 'E_INVALID_MONEY'],
      [{ unitAmount: 1 }, 'E_INVALID_INPUT'],
      [{ unitAmount: '1', currency: 'XXX' }, 'E_UNKNOWN_CURRENCY'],
      [{ unitAmount: '1', minimum: '0.001' }, 'E_INVALID_MONEY'],
      [
        {
          tiers: [
            { upTo: '10', unitAmount: '1' },
            { upTo: '5', unitAmount: '1' },
            { upTo: null, unitAmount: '1' },
          ],
        },
        'E_INVALID_INPUT',
      ],
      [{ unitAmount: '1', effectiveFrom: '2026-11-01T00:00:00.000Z' }, 'E_CONFLICT'],
    ];
    for (const [input, code] of cases)
      await assert.rejects(
        call('billing.prices.set', { meter: 'postgres.ready_seconds', ...input }),
        withCode(code),
        JSON.stringify(input),
      );
    assert.deepEqual(await listPrices(), before, 'nothing stored');
  });

  it('the report shows invoice, usage, trial balance, budget headroom, live holds, resources and tokens', async () => {
    await call('billing.meters.define', { type: 'postgres.ready_seconds', unit: 's' });
    await call('billing.meters.define', { type: 'sqlite.ready_seconds', unit: 's' });
    await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: '10.00' });
    clock.set(nov(25));
    const event = (id: string, type: string, time: number, quantity: string) => ({
      id,
      type,
      subject: 'tenant',
      resourceId: 'res_1',
      quantity,
      unit: 's',
      time,
    });
    await call('billing.meters.ingest', {
      events: [
        event('e1', 'postgres.ready_seconds', nov(5), '3600'),
        event('e2', 'postgres.ready_seconds', nov(20), '1800'),
        event('e3', 'sqlite.ready_seconds', nov(6), '10'),
      ],
    });
    const hold = await billing.budgets.reserve(
      { tenantId, principalId: principal.id, kind: 'provision', syscall: 'provision.create' },
      parseMoney('0.30', 'USD').micros,
    );
    assert.ok(hold);

    const report = await call<BillingReportJson>('billing.report', { period: '2026-11' });
    assert.deepEqual(report.period, {
      key: '2026-11',
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
    });
    // 5400 s × 0.0001 = 0.54; the sqlite seconds before the global price (Nov 20) are unpriced.
    assert.deepEqual(
      report.invoice.lines.map((l) => [l.meter, l.quantity, l.amount]),
      [['postgres.ready_seconds', '5400', '0.54']],
    );
    assert.deepEqual(report.invoice.totals, [{ currency: 'USD', amount: '0.54' }]);
    assert.deepEqual(
      report.invoice.unpriced.map((u) => [u.meter, u.quantity, u.from, u.to]),
      [['sqlite.ready_seconds', '10', '2026-11-01T00:00:00.000Z', '2026-11-20T00:00:00.000Z']],
    );
    assert.deepEqual(
      report.usage.map((u) => [u.meter, u.quantity, u.events]),
      [
        ['postgres.ready_seconds', '5400', 2],
        ['sqlite.ready_seconds', '10', 1],
      ],
    );
    assert.deepEqual(report.posted, []);
    assert.deepEqual(
      report.budgets.map((b) => [b.scope, b.limit, b.held, b.available]),
      [['tenant', '10.00', '0.30', '9.70']],
    );
    assert.deepEqual(
      report.holds.map((h) => [h.amount, h.overdue]),
      [['0.30', false]],
    );
    assert.deepEqual(report.resources, [
      { id: 'res_1', kind: 'postgres', name: `db-${tenantId.slice(0, 3)}`, state: 'ready' },
    ]);
    assert.equal(report.spendTokens?.[0]?.expiresAt, '2026-12-01T00:00:00.000Z');
    for (const line of report.trialBalance) assert.equal(line.difference, '0.00', line.currency);
    const invoice = await call<InvoiceJson>('billing.invoice', { period: '2026-11' });
    assert.deepEqual(invoice, report.invoice);

    clock.set(DEC_1 + 86_400_000);
    await new Rating({ billing, prices }).post(tenantId, '2026-11');
    const closed = await call<BillingReportJson>('billing.report', { period: '2026-11' });
    assert.deepEqual(
      closed.posted.map((t) => t.amount),
      ['0.54'],
    );
    assert.deepEqual(
      closed.holds.map((h) => h.overdue),
      [true],
      'the hold outlived its timeout and awaits the reaper',
    );
    for (const line of closed.trialBalance) assert.equal(line.difference, '0.00', line.currency);
    await assert.rejects(call('billing.report', { period: '2026-13' }), withCode('E_INVALID_INPUT'));
  });
});
