import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ManualClock } from '../../kernel/clock.ts';
import type { Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { Billing } from './billing.ts';
import { creditBalance } from './ledger.ts';
import type { Aggregation } from './meter.ts';
import { parseMoney } from './money.ts';
import { PriceBook, type SetPriceInput } from './prices.ts';
import { parsePeriod, periodAt, Rating, walletAccountId, type Invoice, type InvoiceLine } from './rating.ts';

const usd = (amount: string): bigint => parseMoney(amount, 'USD').micros;
const nov = (day: number, hour = 0): number => Date.UTC(2026, 10, day, hour);
const DEC_1 = Date.UTC(2026, 11, 1);

onEveryStore('billing rating and posting', (db) => {
  let store: Store;
  let billing: Billing;
  let prices: PriceBook;
  let rating: Rating;
  const clock = new ManualClock(nov(10, 12));
  let eventSeq = 0;

  const meter = (tenantId: string, type: string, aggregation: Aggregation = 'sum'): Promise<unknown> =>
    billing.meters.define(tenantId, { type, unit: 'u', aggregation, description: '' });
  const price = (
    tenantId: string,
    input: Omit<SetPriceInput, 'tenantId' | 'currency'> & { currency?: string },
  ) => prices.set({ tenantId, currency: 'USD', effectiveFrom: nov(1), ...input });
  const use = (tenantId: string, type: string, events: [time: number, quantity: string][]) =>
    billing.meters.ingest(
      tenantId,
      events.map(([time, quantity]) => ({
        id: `ev${eventSeq++}`,
        type,
        subject: 'tenant',
        resourceId: 'r1',
        quantity,
        unit: 'u',
        time,
      })),
    );
  const line = (invoice: Invoice, meterType: string): InvoiceLine => {
    const found = invoice.lines.find((l) => l.meter === meterType);
    assert.ok(found, `a line for ${meterType}`);
    return found;
  };
  const invoiceTransfers = async (tenantId: string): Promise<number> =>
    Number(
      (
        await store.get<{ n: number }>(
          "SELECT COUNT(*) AS n FROM bill_transfers WHERE tenant_id = ? AND id LIKE 'inv:%'",
          [tenantId],
        )
      )?.n,
    );

  before(async () => {
    store = await db().open();
    billing = await Billing.open({ store, clock });
    prices = await PriceBook.open({ store, clock });
    rating = new Rating({ billing, prices });
  });
  after(() => store.close());

  it('an invoice for hand-computed usage equals the hand-computed amounts', async () => {
    const T = 'ten_rate';
    for (const [type, aggregation] of [
      ['api.calls', 'sum'],
      ['gpu.seconds', 'sum'],
      ['render.minutes', 'sum'],
      ['db.storage', 'time_weighted'],
      ['support.tickets', 'count'],
      ['seats', 'max'],
      ['late.priced', 'sum'],
      ['orphan', 'sum'],
      ['jpy.up', 'sum'],
      ['jpy.down', 'sum'],
      ['never.used', 'sum'],
    ] as const)
      await meter(T, type, aggregation);
    // Per unit with a version change on Nov 15.
    await price(T, { meter: 'api.calls', unitAmount: '0.002' });
    await price(T, { meter: 'api.calls', unitAmount: '0.0015', effectiveFrom: nov(15) });
    // Graduated tiers with flat amounts.
    const gpuTiers = [
      { upTo: '100', unitAmount: '0.01', flatAmount: '1.00' },
      { upTo: '1000', unitAmount: '0.005' },
      { upTo: null, unitAmount: '0.001', flatAmount: '2.00' },
    ];
    await price(T, { meter: 'gpu.seconds', tiers: gpuTiers, mode: 'graduated' });
    // Graduated, new tiers from Nov 20: the second version continues where the first stopped.
    await price(T, {
      meter: 'render.minutes',
      tiers: [
        { upTo: '100', unitAmount: '0.01', flatAmount: '1.00' },
        { upTo: null, unitAmount: '0.001' },
      ],
    });
    await price(T, {
      meter: 'render.minutes',
      tiers: [
        { upTo: '100', unitAmount: '0.02' },
        { upTo: null, unitAmount: '0.002' },
      ],
      effectiveFrom: nov(20),
    });
    // Volume tiers on a time-weighted meter (GB·s).
    await price(T, {
      meter: 'db.storage',
      mode: 'volume',
      tiers: [
        { upTo: '1000000', unitAmount: '0.000001' },
        { upTo: null, unitAmount: '0.0000005', flatAmount: '0.50' },
      ],
    });
    await price(T, { meter: 'support.tickets', unitAmount: '0.10', minimum: '5.00' });
    await price(T, { meter: 'seats', unitAmount: '10' });
    await price(T, { meter: 'seats', unitAmount: '12', effectiveFrom: nov(20) });
    await price(T, { meter: 'late.priced', unitAmount: '1.25', effectiveFrom: nov(10) });
    await price(T, { meter: 'jpy.up', unitAmount: '0.5', currency: 'JPY' });
    await price(T, { meter: 'jpy.down', unitAmount: '0.4', currency: 'JPY' });
    await price(T, { meter: 'never.used', unitAmount: '1', minimum: '1.00' });

    clock.set(nov(25));
    await use(T, 'api.calls', [
      [nov(5), '1000'],
      [nov(15) - 1, '500'],
      [nov(15), '2000'],
      [nov(20), '333'],
    ]);
    await use(T, 'gpu.seconds', [
      [nov(3), '1000.5'],
      [nov(4), '234'],
    ]);
    await use(T, 'render.minutes', [
      [nov(10), '80'],
      [nov(22), '70'],
    ]);
    await use(T, 'db.storage', [
      [nov(1), '2'],
      [nov(16), '0'],
    ]);
    await use(T, 'support.tickets', [
      [nov(2), '1'],
      [nov(3), '1'],
      [nov(4), '1'],
    ]);
    await use(T, 'seats', [
      [nov(3), '5'],
      [nov(10), '8'],
    ]);
    await use(T, 'late.priced', [
      [nov(5), '3'],
      [nov(12), '4'],
    ]);
    await use(T, 'orphan', [[nov(6), '7']]);
    await use(T, 'jpy.up', [[nov(6), '3']]);
    await use(T, 'jpy.down', [[nov(6), '3']]);

    const invoice = await rating.invoice(T, '2026-11');
    // 1500 × 0.002 = 3 and 2333 × 0.0015 = 3.4995: 6.4995 rounds half up to 6.50.
    const api = line(invoice, 'api.calls');
    assert.deepEqual(
      api.segments.map((s) => [s.version, s.quantity, s.amount, s.from, s.to]),
      [
        [1, '1500', '3', nov(1), nov(15)],
        [2, '2333', '3.4995', nov(15), DEC_1],
      ],
    );
    assert.deepEqual([api.quantity, api.subtotal, api.amount], ['3833', '6.4995', usd('6.50')]);
    // 100 × 0.01 + 1.00 + 900 × 0.005 + 234.5 × 0.001 + 2.00 = 8.7345 → 8.73.
    assert.deepEqual(
      [line(invoice, 'gpu.seconds').subtotal, line(invoice, 'gpu.seconds').amount],
      ['8.7345', usd('8.73')],
    );
    // v1 prices [0, 80): 0.80 + 1.00 flat; v2 prices [80, 150): 20 × 0.02 + 50 × 0.002 = 0.50.
    const render = line(invoice, 'render.minutes');
    assert.deepEqual(
      render.segments.map((s) => [s.version, s.quantity, s.amount]),
      [
        [1, '80', '1.8'],
        [2, '70', '0.5'],
      ],
    );
    assert.equal(render.amount, usd('2.30'));
    // 2 GB for 15 days = 2,592,000 GB·s, all in the second volume tier: 1.296 + 0.50 = 1.796 → 1.80.
    const storage = line(invoice, 'db.storage');
    assert.deepEqual([storage.quantity, storage.unit, storage.amount], ['2592000', 'u·s', usd('1.80')]);
    // 3 × 0.10 = 0.30, below the 5.00 minimum.
    const tickets = line(invoice, 'support.tickets');
    assert.deepEqual([tickets.subtotal, tickets.minimumApplied, tickets.amount], ['0.3', true, usd('5.00')]);
    // max = 8 seats, priced by the version in effect at the period's end (12).
    const seats = line(invoice, 'seats');
    assert.deepEqual([seats.segments.length, seats.segments[0]?.version, seats.amount], [1, 2, usd('96.00')]);
    // Only the usage after the price started is rated; the rest is unpriced, as is `orphan`.
    assert.equal(line(invoice, 'late.priced').amount, usd('5.00'));
    assert.deepEqual(
      invoice.unpriced.map((u) => [u.meter, u.quantity, u.events, u.from, u.to]),
      [
        ['late.priced', '3', 1, nov(1), nov(10)],
        ['orphan', '7', 1, nov(1), DEC_1],
      ],
    );
    assert.equal(
      invoice.lines.some((l) => l.meter === 'orphan' || l.meter === 'never.used'),
      false,
    );
    // JPY rounds to whole yen: 1.5 → 2, 1.2 → 1.
    assert.equal(line(invoice, 'jpy.up').amount, parseMoney('2', 'JPY').micros);
    assert.equal(line(invoice, 'jpy.down').amount, parseMoney('1', 'JPY').micros);
    assert.deepEqual(invoice.totals, [
      { currency: 'JPY', amount: parseMoney('3', 'JPY').micros },
      { currency: 'USD', amount: usd('125.33') },
    ]);
    assert.deepEqual(
      invoice.usage.map((u) => u.meter),
      [
        'api.calls',
        'db.storage',
        'gpu.seconds',
        'jpy.down',
        'jpy.up',
        'late.priced',
        'orphan',
        'render.minutes',
        'seats',
        'support.tickets',
      ],
      'every meter with usage, priced or not; never.used has none',
    );
  });

  it('months are UTC: 23:59:59.999 on the 30th and 00:00 on the 1st land in different periods', async () => {
    const T = 'ten_boundary';
    clock.set(nov(10));
    await meter(T, 'api.calls');
    await price(T, { meter: 'api.calls', unitAmount: '1' });
    clock.set(DEC_1 + 60_000);
    await use(T, 'api.calls', [
      [DEC_1 - 1, '1'],
      [DEC_1, '2'],
    ]);
    assert.equal(periodAt(DEC_1 - 1).key, '2026-11');
    assert.equal(periodAt(DEC_1).key, '2026-12');
    assert.deepEqual(parsePeriod('2026-12'), { key: '2026-12', from: DEC_1, to: Date.UTC(2027, 0, 1) });
    const november = line(await rating.invoice(T, '2026-11'), 'api.calls');
    const december = line(await rating.invoice(T, '2026-12'), 'api.calls');
    assert.deepEqual([november.quantity, november.amount], ['1', usd('1.00')]);
    assert.deepEqual([december.quantity, december.amount], ['2', usd('2.00')]);
    for (const bad of ['2026-13', '2026-1', '26-11', '2026-11-01', ''])
      await assert.rejects(rating.invoice(T, bad), withCode('E_INVALID_INPUT'), bad);
    await assert.rejects(rating.rate(T, { from: DEC_1, to: DEC_1 }), withCode('E_INVALID_INPUT'));
  });

  it('posting charges a closed period once, however often it is posted; the trial balance stays 0', async () => {
    const T = 'ten_post';
    clock.set(nov(10));
    await meter(T, 'api.calls');
    await meter(T, 'orphan');
    await price(T, { meter: 'api.calls', unitAmount: '0.25' });
    clock.set(nov(25));
    await use(T, 'api.calls', [[nov(5), '10']]);
    await use(T, 'orphan', [[nov(5), '1']]);
    await assert.rejects(rating.post(T, '2026-11'), withCode('E_CONFLICT'), 'the period is still open');
    assert.equal(await invoiceTransfers(T), 0);

    clock.set(DEC_1 + 86_400_000);
    const first = await rating.post(T, '2026-11');
    assert.deepEqual(
      first.posted.map((p) => [p.meter, p.transfer.amount, p.created]),
      [['api.calls', usd('2.50'), true]],
    );
    assert.deepEqual(
      first.invoice.unpriced.map((u) => u.meter),
      ['orphan'],
    );
    const again = await Promise.all(Array.from({ length: 10 }, () => rating.post(T, '2026-11')));
    for (const result of again)
      assert.deepEqual(
        result.posted.map((p) => [p.transfer.id, p.created]),
        [[first.posted[0]?.transfer.id, false]],
      );
    assert.equal(await invoiceTransfers(T), 1, 'charged once');
    assert.equal(creditBalance(await billing.ledger.getAccount(T, walletAccountId(T, 'USD'))), -usd('2.50'));
    for (const balance of await billing.ledger.trialBalance(T)) assert.equal(balance.difference, 0n);

    // A late event changes the invoice: posting again refuses instead of charging twice or silently.
    await use(T, 'api.calls', [[nov(29), '4']]);
    await assert.rejects(rating.post(T, '2026-11'), withCode('E_CONFLICT'));
    assert.equal(creditBalance(await billing.ledger.getAccount(T, walletAccountId(T, 'USD'))), -usd('2.50'));
  });

  it('a prepaid wallet that cannot cover the invoice refuses the whole post', async () => {
    const T = 'ten_prepaid';
    clock.set(nov(10));
    await meter(T, 'a.small');
    await meter(T, 'b.big');
    await price(T, { meter: 'a.small', unitAmount: '0.50' });
    await price(T, { meter: 'b.big', unitAmount: '2.50' });
    const wallet = walletAccountId(T, 'USD');
    await billing.ledger.openAccount({ id: `${T}:ext`, tenantId: T, kind: 'external', currency: 'USD' });
    await billing.ledger.openAccount({
      id: wallet,
      tenantId: T,
      kind: 'wallet',
      currency: 'USD',
      flags: 'no_overdraft',
    });
    const deposit = (id: string, amount: string) =>
      billing.ledger.transfer({
        id,
        tenantId: T,
        debitAccountId: `${T}:ext`,
        creditAccountId: wallet,
        amount: usd(amount),
      });
    await deposit(`${T}:deposit-1`, '1.00');
    clock.set(nov(25));
    await use(T, 'a.small', [[nov(5), '1']]);
    await use(T, 'b.big', [[nov(5), '1']]);
    clock.set(DEC_1 + 1);
    await assert.rejects(rating.post(T, '2026-11'), withCode('E_INSUFFICIENT_FUNDS'));
    assert.equal(await invoiceTransfers(T), 0, 'the affordable line was not posted either');
    await deposit(`${T}:deposit-2`, '3.00');
    const posted = await rating.post(T, '2026-11');
    assert.equal(posted.posted.length, 2);
    assert.equal(creditBalance(await billing.ledger.getAccount(T, wallet)), usd('1.00'));
    for (const balance of await billing.ledger.trialBalance())
      assert.equal(balance.difference, 0n, balance.currency);
  });
});
