import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ManualClock } from '../../kernel/clock.ts';
import type { Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { GLOBAL_PRICES, PriceBook, type SetPriceInput } from './prices.ts';

const T = 'ten_prices';
const NOV_1 = Date.UTC(2026, 10, 1);
const NOV_15 = Date.UTC(2026, 10, 15);
const DAY = 86_400_000;

onEveryStore('billing price book', (db) => {
  let store: Store;
  let prices: PriceBook;
  const clock = new ManualClock(Date.UTC(2026, 10, 10, 12));
  const count = async (): Promise<number> =>
    Number((await store.get<{ n: number }>('SELECT COUNT(*) AS n FROM bill_prices'))?.n);

  before(async () => {
    store = await db().open();
    prices = await PriceBook.open({ store, clock });
  });
  after(() => store.close());

  it('appends versions; priceAt picks the one in effect; prices are never edited in place', async () => {
    const v1 = await prices.set({
      tenantId: T,
      meter: 'api.calls',
      currency: 'USD',
      unitAmount: '0.002000',
      effectiveFrom: NOV_1,
    });
    assert.deepEqual([v1.version, v1.unitAmount, v1.scope], [1, '0.002', 'tenant']);
    const v2 = await prices.set({
      tenantId: T,
      meter: 'api.calls',
      currency: 'USD',
      unitAmount: '0.0015',
      minimum: '5',
      effectiveFrom: NOV_15,
    });
    assert.deepEqual([v2.version, v2.minimum], [2, '5.00']);
    assert.equal((await prices.priceAt(T, 'api.calls', NOV_15 - 1))?.id, v1.id);
    assert.equal((await prices.priceAt(T, 'api.calls', NOV_15))?.id, v2.id);
    assert.equal(await prices.priceAt(T, 'api.calls', NOV_1 - 1), undefined);

    // The same version again (a retry) is a no-op, even concurrently.
    const replays = await Promise.all(
      Array.from({ length: 10 }, () =>
        prices.set({
          tenantId: T,
          meter: 'api.calls',
          currency: 'USD',
          unitAmount: '0.0015',
          minimum: '5.00',
          effectiveFrom: NOV_15,
        }),
      ),
    );
    for (const replay of replays) assert.deepEqual(replay, v2);
    const before = await count();
    // Another definition at an existing time, or a version older than the latest: refused.
    await assert.rejects(
      prices.set({
        tenantId: T,
        meter: 'api.calls',
        currency: 'USD',
        unitAmount: '0.001',
        effectiveFrom: NOV_15,
      }),
      withCode('E_CONFLICT'),
    );
    await assert.rejects(
      prices.set({
        tenantId: T,
        meter: 'api.calls',
        currency: 'USD',
        unitAmount: '0.001',
        effectiveFrom: NOV_15 - DAY,
      }),
      withCode('E_CONFLICT'),
    );
    assert.equal(await count(), before, 'nothing stored');
    assert.deepEqual(
      (await prices.list(T, { meter: 'api.calls' })).map((p) => [p.version, p.unitAmount]),
      [
        [1, '0.002'],
        [2, '0.0015'],
      ],
    );
  });

  it('concurrent new versions of one meter never share a version number', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        prices.set({
          tenantId: T,
          meter: 'race',
          currency: 'USD',
          unitAmount: '1',
          effectiveFrom: NOV_1 + i * DAY,
        }),
      ),
    );
    for (const r of results)
      if (r.status === 'rejected') assert.ok(withCode('E_CONFLICT')(r.reason), String(r.reason));
    const versions = (await prices.list(T, { meter: 'race' })).map((p) => [p.version, p.effectiveFrom]);
    assert.ok(versions.length >= 1);
    versions.forEach(([version, from], i) => {
      assert.equal(version, i + 1, 'versions are 1..n with no gaps or duplicates');
      if (i > 0) assert.ok((from as number) > (versions[i - 1]?.[1] as number), 'in effectiveFrom order');
    });
  });

  it('a tenant version overrides the global default from its effectiveFrom; others keep the default', async () => {
    const global = await prices.set({
      tenantId: GLOBAL_PRICES,
      meter: 'postgres.ready_seconds',
      currency: 'USD',
      unitAmount: '0.0001',
      effectiveFrom: NOV_1,
    });
    assert.equal(global.scope, 'global');
    const own = await prices.set({
      tenantId: T,
      meter: 'postgres.ready_seconds',
      currency: 'USD',
      unitAmount: '0.00005',
      effectiveFrom: NOV_15,
    });
    assert.equal((await prices.priceAt(T, 'postgres.ready_seconds', NOV_15 - 1))?.id, global.id);
    assert.equal((await prices.priceAt(T, 'postgres.ready_seconds', NOV_15))?.id, own.id);
    assert.equal((await prices.priceAt('ten_other', 'postgres.ready_seconds', NOV_15))?.id, global.id);
    assert.deepEqual(
      (await prices.schedule(T, 'postgres.ready_seconds', { from: NOV_1 - DAY, to: NOV_15 + DAY })).map(
        (s) => [s.from, s.to, s.price?.id],
      ),
      [
        [NOV_1 - DAY, NOV_1, undefined],
        [NOV_1, NOV_15, global.id],
        [NOV_15, NOV_15 + DAY, own.id],
      ],
    );
    await assert.rejects(
      prices.get('ten_other', own.id),
      withCode('E_NOT_FOUND'),
      'another tenant’s version is hidden',
    );
    assert.equal((await prices.get('ten_other', global.id)).id, global.id);
  });

  it('requirePrice fails closed with E_NO_PRICE naming the meter', async () => {
    await assert.rejects(prices.requirePrice(T, 'sqlite.ready_seconds'), (error: unknown) => {
      assert.ok(withCode('E_NO_PRICE')(error));
      assert.equal((error as { data: { meter: string } }).data.meter, 'sqlite.ready_seconds');
      return true;
    });
    await assert.rejects(prices.requirePrice(T, 'api.calls', NOV_1 - 1), withCode('E_NO_PRICE'));
    assert.equal((await prices.requirePrice(T, 'api.calls')).version, 1);
  });

  it('validates tiers and stores them canonically', async () => {
    const price = await prices.set({
      tenantId: T,
      meter: 'gpu.seconds',
      currency: 'USD',
      tiers: [
        { upTo: '100.0', unitAmount: '0.010', flatAmount: '1' },
        { upTo: null, unitAmount: '0.001' },
      ],
      mode: 'volume',
      effectiveFrom: NOV_1,
    });
    assert.deepEqual(price.tiers, [
      { upTo: '100', unitAmount: '0.01', flatAmount: '1.00' },
      { upTo: null, unitAmount: '0.001' },
    ]);
    assert.equal(price.mode, 'volume');
  });

  it('refuses bad input with stable codes and stores nothing', async () => {
    const base: SetPriceInput = { tenantId: T, meter: 'bad.input', currency: 'USD', unitAmount: '1' };
    const tiers = (upTos: (string | null)[]): SetPriceInput['tiers'] =>
      upTos.map((upTo) => ({ upTo, unitAmount: '1' }));
    const cases: [Partial<SetPriceInput> | Record<string, unknown>, string][] = [
      [{ unitAmount: '-0.01' }, 'E_INVALID_MONEY'],
      [{ unitAmount: 'NaN' }, 'E_INVALID_MONEY'],
      [{ unitAmount: 'Infinity' }, 'E_INVALID_MONEY'],
      [{ unitAmount: 0.5 }, 'E_INVALID_MONEY'],
      [{ unitAmount: '1e-3' }, 'E_INVALID_MONEY'],
      [{ unitAmount: '0.0000000000001' }, 'E_INVALID_MONEY'],
      [{ minimum: '1.001' }, 'E_INVALID_MONEY'],
      [{ minimum: '-5' }, 'E_INVALID_MONEY'],
      [{ currency: 'XYZ' }, 'E_UNKNOWN_CURRENCY'],
      [{ currency: 'usd' }, 'E_UNKNOWN_CURRENCY'],
      [{ unitAmount: undefined }, 'E_INVALID_INPUT'],
      [{ tiers: tiers(['10', null]) }, 'E_INVALID_INPUT'],
      [{ unitAmount: undefined, mode: 'graduated', tiers: [] }, 'E_INVALID_INPUT'],
      [{ unitAmount: undefined, tiers: tiers(['10', '5', null]) }, 'E_INVALID_INPUT'],
      [{ unitAmount: undefined, tiers: tiers(['10', '10', null]) }, 'E_INVALID_INPUT'],
      [{ unitAmount: undefined, tiers: tiers(['0', null]) }, 'E_INVALID_INPUT'],
      [{ unitAmount: undefined, tiers: tiers(['10', '20']) }, 'E_INVALID_INPUT'],
      [{ unitAmount: undefined, tiers: tiers([null, '20', null]) }, 'E_INVALID_INPUT'],
      [{ unitAmount: undefined, tiers: tiers(['-1', null]) }, 'E_INVALID_QUANTITY'],
      [
        { unitAmount: undefined, tiers: [{ upTo: null, unitAmount: '1', flatAmount: '0.001' }] },
        'E_INVALID_MONEY',
      ],
      [{ unitAmount: undefined, tiers: tiers([null]), mode: 'stepped' }, 'E_INVALID_INPUT'],
      [{ mode: 'volume' }, 'E_INVALID_INPUT'],
      [{ meter: 'Bad Meter' }, 'E_INVALID_INPUT'],
      [{ effectiveFrom: Number.NaN }, 'E_INVALID_INPUT'],
      [{ effectiveFrom: NOV_1 - 1 }, 'E_INVALID_INPUT'],
    ];
    const before = await count();
    for (const [change, code] of cases)
      await assert.rejects(
        prices.set({ ...base, ...change }),
        withCode(code),
        `${JSON.stringify(change)} → ${code}`,
      );
    assert.equal(await count(), before, 'nothing stored');
    await assert.rejects(prices.set({ ...base, unitAmount: '-1' }), (error: unknown) => {
      assert.equal(
        (error as { data: { path: string } }).data.path,
        'unitAmount',
        'the error names the field',
      );
      return true;
    });
  });
});
