import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ManualClock } from '../../kernel/clock.ts';
import type { Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { Billing } from './billing.ts';
import { available, type Ledger } from './ledger.ts';
import { parseMoney } from './money.ts';

const T = 'ten_ledger';
const usd = (amount: string): bigint => parseMoney(amount, 'USD').micros;

onEveryStore('billing ledger', (db) => {
  let store: Store;
  let ledger: Ledger;
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 12));

  before(async () => {
    store = await db().open();
    ledger = (await Billing.open({ store, clock })).ledger;
    await ledger.openAccount({ id: 'ext', tenantId: T, kind: 'external', currency: 'USD' });
    await ledger.openAccount({
      id: 'wallet',
      tenantId: T,
      kind: 'wallet',
      currency: 'USD',
      flags: 'no_overdraft',
    });
    await ledger.openAccount({ id: 'revenue', tenantId: T, kind: 'revenue', currency: 'USD' });
    await ledger.openAccount({ id: 'eur-wallet', tenantId: T, kind: 'wallet', currency: 'EUR' });
    await ledger.transfer({
      id: 'deposit-1',
      tenantId: T,
      debitAccountId: 'ext',
      creditAccountId: 'wallet',
      amount: usd('10.00'),
    });
  });
  after(() => store.close());

  it('moves money between accounts and keeps the trial balance at exactly zero', async () => {
    const wallet = await ledger.getAccount(T, 'wallet');
    assert.equal(available(wallet), usd('10.00'));
    await ledger.transfer({
      id: 'spend-1',
      tenantId: T,
      debitAccountId: 'wallet',
      creditAccountId: 'revenue',
      amount: usd('2.50'),
    });
    assert.equal(available(await ledger.getAccount(T, 'wallet')), usd('7.50'));
    for (const line of await ledger.trialBalance(T)) assert.equal(line.difference, 0n, line.currency);
    const line = (await ledger.trialBalance(T)).find((l) => l.currency === 'USD');
    assert.equal(line?.debitsPosted, usd('12.50'));
  });

  it('is idempotent by id: same payload returns the original, another payload is E_CONFLICT', async () => {
    const input = {
      id: 'idem-1',
      tenantId: T,
      debitAccountId: 'wallet',
      creditAccountId: 'revenue',
      amount: usd('1.00'),
    };
    const first = await ledger.transfer(input);
    const replays = await Promise.all(Array.from({ length: 20 }, () => ledger.transfer(input)));
    for (const replay of replays) assert.deepEqual(replay, first);
    assert.equal(available(await ledger.getAccount(T, 'wallet')), usd('6.50'), 'charged once');
    await assert.rejects(ledger.transfer({ ...input, amount: usd('1.01') }), withCode('E_CONFLICT'));
    await assert.rejects(ledger.transfer({ ...input, creditAccountId: 'ext' }), withCode('E_CONFLICT'));
    assert.equal(available(await ledger.getAccount(T, 'wallet')), usd('6.50'));
  });

  it('concurrent first sends of one new id charge once', async () => {
    const input = {
      id: 'race-1',
      tenantId: T,
      debitAccountId: 'wallet',
      creditAccountId: 'revenue',
      amount: usd('0.50'),
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => ledger.transfer(input)));
    assert.equal(
      new Set(
        results.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))),
      ).size,
      1,
    );
    assert.equal(available(await ledger.getAccount(T, 'wallet')), usd('6.00'));
  });

  it('refuses overdraft, bad amounts, same-account, mixed currency and unknown accounts; nothing moves', async () => {
    const before = await ledger.getAccount(T, 'wallet');
    const base = { tenantId: T, debitAccountId: 'wallet', creditAccountId: 'revenue' };
    await assert.rejects(
      ledger.transfer({ ...base, id: 'od', amount: usd('6.01') }),
      withCode('E_INSUFFICIENT_FUNDS'),
    );
    await assert.rejects(
      ledger.transfer({ ...base, id: 'neg', amount: -1n }),
      withCode('E_INVALID_TRANSFER'),
    );
    await assert.rejects(
      ledger.transfer({ ...base, id: 'zero', amount: 0n }),
      withCode('E_INVALID_TRANSFER'),
    );
    await assert.rejects(
      ledger.transfer({ ...base, id: 'same', creditAccountId: 'wallet', amount: 1n }),
      withCode('E_INVALID_TRANSFER'),
    );
    await assert.rejects(
      ledger.transfer({ ...base, id: 'mixed', creditAccountId: 'eur-wallet', amount: 1n }),
      withCode('E_CURRENCY_MISMATCH'),
    );
    await assert.rejects(
      ledger.transfer({ ...base, id: 'cur', currency: 'EUR', amount: 1n }),
      withCode('E_CURRENCY_MISMATCH'),
    );
    await assert.rejects(
      ledger.transfer({ ...base, id: 'nope', creditAccountId: 'missing', amount: 1n }),
      withCode('E_NOT_FOUND'),
    );
    await assert.rejects(
      ledger.transfer({ ...base, id: 'other-tenant', tenantId: 'ten_other', amount: 1n }),
      withCode('E_NOT_FOUND'),
    );
    await assert.rejects(
      ledger.transfer({ ...base, id: "x'; DROP TABLE bill_accounts; --", amount: 1n }),
      withCode('E_INVALID_TRANSFER'),
    );
    assert.deepEqual(await ledger.getAccount(T, 'wallet'), before);
    for (const id of ['od', 'neg', 'zero', 'same', 'mixed', 'cur', 'nope', 'other-tenant'])
      assert.equal(await ledger.getTransfer(T, id), undefined, id);
    for (const line of await ledger.trialBalance(T)) assert.equal(line.difference, 0n);
  });

  it('two-phase: pending counts against no-overdraft, post partial releases the rest, void releases all', async () => {
    const base = { tenantId: T, debitAccountId: 'wallet', creditAccountId: 'revenue' };
    await ledger.transfer({ ...base, id: 'p1', amount: usd('4.00'), pending: { timeoutMs: 60_000 } });
    let wallet = await ledger.getAccount(T, 'wallet');
    assert.equal(wallet.debitsPending, usd('4.00'));
    assert.equal(available(wallet), usd('2.00'));
    await assert.rejects(
      ledger.transfer({ ...base, id: 'p2', amount: usd('2.01'), pending: { timeoutMs: 1000 } }),
      withCode('E_INSUFFICIENT_FUNDS'),
    );
    await ledger.resolve({
      id: 'p1-post',
      tenantId: T,
      pendingId: 'p1',
      action: 'post',
      amount: usd('1.25'),
    });
    wallet = await ledger.getAccount(T, 'wallet');
    assert.equal(wallet.debitsPending, 0n);
    assert.equal(available(wallet), usd('4.75'));
    await assert.rejects(
      ledger.resolve({ id: 'p1-again', tenantId: T, pendingId: 'p1', action: 'void' }),
      withCode('E_INVALID_TRANSFER'),
    );
    await ledger.transfer({ ...base, id: 'p3', amount: usd('1.00'), pending: { timeoutMs: 60_000 } });
    await assert.rejects(
      ledger.resolve({ id: 'p3-over', tenantId: T, pendingId: 'p3', action: 'post', amount: usd('1.01') }),
      withCode('E_INVALID_TRANSFER'),
    );
    await ledger.resolve({ id: 'p3-void', tenantId: T, pendingId: 'p3', action: 'void' });
    assert.equal(available(await ledger.getAccount(T, 'wallet')), usd('4.75'));
    assert.equal((await ledger.getPending(T, 'p3'))?.status, 'voided');
    // Resolutions are idempotent too.
    const replay = await ledger.resolve({ id: 'p3-void', tenantId: T, pendingId: 'p3', action: 'void' });
    assert.equal(replay.kind, 'void_pending');
    for (const line of await ledger.trialBalance(T)) assert.equal(line.difference, 0n);
  });

  it('pending transfers expire after their timeout: refused to post, voided by the reaper', async () => {
    const base = { tenantId: T, debitAccountId: 'wallet', creditAccountId: 'revenue' };
    await ledger.transfer({ ...base, id: 'p4', amount: usd('3.00'), pending: { timeoutMs: 30_000 } });
    assert.equal(await ledger.expireDue(), 0, 'not due yet');
    clock.advance(30_000);
    await assert.rejects(
      ledger.resolve({ id: 'p4-post', tenantId: T, pendingId: 'p4', action: 'post' }),
      withCode('E_INVALID_TRANSFER'),
    );
    assert.equal(await ledger.expireDue(), 1);
    assert.equal((await ledger.getPending(T, 'p4'))?.status, 'expired');
    const wallet = await ledger.getAccount(T, 'wallet');
    assert.equal(wallet.debitsPending, 0n);
    assert.equal(available(wallet), usd('4.75'));
    const expiry = await ledger.getTransfer(T, 'p4:expire');
    assert.equal(expiry?.kind, 'expire_pending');
    assert.equal(expiry?.amount, usd('3.00'));
  });

  it('the database itself refuses an overdraft on a no_overdraft account (CHECK constraint)', async () => {
    await assert.rejects(
      store.run('UPDATE bill_accounts SET debits_posted = credits_posted + 1 WHERE id = ?', ['wallet']),
      (error: unknown) => error instanceof Error,
    );
    assert.equal(available(await ledger.getAccount(T, 'wallet')), usd('4.75'));
  });
});
