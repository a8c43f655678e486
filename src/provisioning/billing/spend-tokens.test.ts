import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, it } from 'node:test';
import { ManualClock } from '../../kernel/clock.ts';
import { createLogger } from '../../kernel/logger.ts';
import { Kernel, type Principal, type Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { Billing } from './billing.ts';
import { allocationAccountId, usageAccountId } from './budgets.ts';
import { available, Ledger } from './ledger.ts';
import { parseMoney } from './money.ts';
import { spendTokenSyscalls } from './spend-token-syscalls.ts';
import { SpendTokens, type IssueSpendTokenInput, type ReserveInput } from './spend-tokens.ts';

const usd = (amount: string): bigint => parseMoney(amount, 'USD').micros;
const START = Date.UTC(2026, 10, 25, 12);
const HOUR = 3_600_000;

onEveryStore('spend tokens', (db) => {
  let store: Store;
  let billing: Billing;
  let tokens: SpendTokens;
  const clock = new ManualClock(START);
  let tenants = 0;

  before(async () => {
    store = await db().open();
    billing = await Billing.open({ store, clock });
    tokens = await SpendTokens.open({ store, ledger: billing.ledger, reservationTimeoutMs: 60_000 });
  });
  after(() => store.close());

  const fresh = (): string => `ten_spt_${tenants++}`;
  const issue = (tenant: string, over: Partial<IssueSpendTokenInput> = {}) =>
    tokens.issue(tenant, {
      scope: { kinds: ['postgres', 'sandbox'] },
      currency: 'USD',
      maxAmount: '10.00',
      expiresAt: clock.now() + HOUR,
      ...over,
    });
  let keys = 0;
  const reserve = (tenant: string, secret: string, amount: string, over: Partial<ReserveInput> = {}) =>
    tokens.reserve(tenant, {
      secret,
      amount,
      purchase: { kind: 'postgres' },
      idempotencyKey: `k${keys++}`,
      ...over,
    });
  /** Everything a bad call must leave alone: the tenant's accounts, transfers, tokens and reservations. */
  const snapshot = async (tenant: string): Promise<string> =>
    JSON.stringify([
      await store.all('SELECT * FROM bill_accounts WHERE tenant_id = ? ORDER BY id', [tenant]),
      await store.all('SELECT id FROM bill_transfers WHERE tenant_id = ? ORDER BY id', [tenant]),
      await store.all('SELECT * FROM bill_spend_tokens WHERE tenant_id = ? ORDER BY id', [tenant]),
      await store.all('SELECT * FROM bill_spend_reservations WHERE tenant_id = ? ORDER BY id', [tenant]),
    ]);
  const account = (tenant: string, tokenId: string) =>
    billing.ledger.getAccount(tenant, `${tenant}:spend_token:${tokenId}`);
  const balanced = async (tenant: string): Promise<void> => {
    const lines = await billing.ledger.trialBalance(tenant);
    assert.ok(lines.length > 0);
    for (const line of lines) assert.equal(line.difference, 0n, `trial balance of ${line.currency}`);
  };

  it('issues a funded token whose secret is shown once and stored only as a hash', async () => {
    const t = fresh();
    const { token, info } = await issue(t, { perUseMax: '2.50' });
    assert.match(token, /^spt_[A-Za-z0-9_-]{43}$/);
    assert.match(info.id, /^stok_/);
    assert.deepEqual(
      [info.status, info.maxAmount, info.perUseMax, info.remainingAmount, info.usage],
      ['active', usd('10.00'), usd('2.50'), usd('10.00'), 'multi'],
    );
    const rows = JSON.stringify(await store.all('SELECT * FROM bill_spend_tokens'));
    assert.ok(!rows.includes(token) && !rows.includes(token.slice(4)), 'the secret is never stored');
    assert.equal(available(await account(t, info.id)), usd('10.00'));
    const allocation = await billing.ledger.getAccount(t, allocationAccountId(t, 'USD'));
    assert.equal(allocation.debitsPosted, usd('10.00'));
    assert.deepEqual(await tokens.inspect(t, token), info);
    await balanced(t);
  });

  it('reserves as a pending transfer, captures part (the rest released) and voids', async () => {
    const t = fresh();
    const { token, info } = await issue(t);
    const first = await reserve(t, token, '3.00');
    const second = await reserve(t, token, '2.00', { purchase: { kind: 'sandbox' } });
    assert.equal(first.status, 'pending');
    assert.equal((await billing.ledger.getPending(t, first.id))?.status, 'pending');
    assert.equal((await account(t, info.id)).debitsPending, usd('5.00'));
    const captured = await tokens.capture(t, first.id, '1.25');
    assert.deepEqual([captured.status, captured.capturedAmount], ['captured', usd('1.25')]);
    assert.deepEqual(await tokens.capture(t, first.id, '1.25'), captured, 'a repeated capture is a no-op');
    await assert.rejects(tokens.capture(t, first.id, '1.00'), withCode('E_CONFLICT'));
    const voided = await tokens.void(t, second.id);
    assert.equal(voided.status, 'voided');
    assert.deepEqual(await tokens.void(t, second.id), voided);
    await assert.rejects(tokens.capture(t, second.id, '1.00'), withCode('E_CONFLICT'));
    const now = await tokens.inspect(t, info.id);
    assert.deepEqual([now.reservedAmount, now.capturedAmount], [0n, usd('1.25')]);
    const usage = await billing.ledger.getAccount(t, usageAccountId(t, 'USD'));
    assert.deepEqual([usage.creditsPosted, usage.creditsPending], [usd('1.25'), 0n]);
    assert.equal(available(await account(t, info.id)), usd('8.75'));
    await balanced(t);
  });

  it('replays the same idempotency key to the same reservation, holding once', async () => {
    const t = fresh();
    const { token, info } = await issue(t);
    const input = { secret: token, amount: '1.00', purchase: { kind: 'postgres' }, idempotencyKey: 'buy-1' };
    const replies = await Promise.all(Array.from({ length: 20 }, () => tokens.reserve(t, input)));
    for (const reply of replies) assert.deepEqual(reply, replies[0]);
    assert.equal((await tokens.inspect(t, info.id)).reservedAmount, usd('1.00'));
    const before = await snapshot(t);
    await assert.rejects(tokens.reserve(t, { ...input, amount: '1.01' }), withCode('E_CONFLICT'));
    await assert.rejects(
      tokens.reserve(t, { ...input, purchase: { kind: 'sandbox' } }),
      withCode('E_CONFLICT'),
    );
    assert.equal(await snapshot(t), before);
  });

  it('expires exactly at expiresAt: 1 ms before works, at expiresAt nothing is charged', async () => {
    const t = fresh();
    const expiresAt = clock.now() + HOUR;
    const { token, info } = await issue(t, { expiresAt });
    clock.set(expiresAt - 1);
    const last = await reserve(t, token, '1.00');
    assert.equal(last.expiresAt, expiresAt, 'a hold never outlives its token');
    assert.equal((await tokens.inspect(t, info.id)).status, 'active');
    clock.set(expiresAt);
    const seen = await tokens.inspect(t, info.id);
    assert.deepEqual([seen.status, seen.deactivatedReason], ['deactivated', 'expired']);
    await assert.rejects(reserve(t, token, '1.00'), (e: unknown) => {
      assert.ok(withCode('E_SPEND_TOKEN_INACTIVE')(e));
      assert.equal((e as { data: { deactivatedReason: string } }).data.deactivatedReason, 'expired');
      return true;
    });
    await assert.rejects(tokens.capture(t, last.id, '1.00'), withCode('E_CONFLICT'));
    assert.equal((await tokens.getReservation(t, last.id)).status, 'expired');
    const spent = await account(t, info.id);
    assert.deepEqual([available(spent), spent.debitsPending, spent.debitsPosted], [0n, 0n, usd('10.00')]);
    const allocation = await billing.ledger.getAccount(t, allocationAccountId(t, 'USD'));
    assert.equal(allocation.creditsPosted, usd('10.00'), 'the whole remainder went back');
    const settled = await snapshot(t);
    await tokens.expireDue();
    assert.equal(await snapshot(t), settled, 'the reaper finds nothing left to do');
    await balanced(t);
    clock.set(START);
  });

  it('single use: consumed by its reservation; a replay still answers; the remainder returns', async () => {
    const t = fresh();
    const { token, info } = await issue(t, { usage: 'single' });
    const input = { secret: token, amount: '4.00', purchase: { kind: 'postgres' }, idempotencyKey: 'once' };
    const reservation = await tokens.reserve(t, input);
    assert.deepEqual(await tokens.reserve(t, input), reservation);
    const before = await snapshot(t);
    await assert.rejects(reserve(t, token, '1.00'), withCode('E_SPEND_TOKEN_INACTIVE'));
    assert.equal(await snapshot(t), before);
    assert.equal((await tokens.inspect(t, info.id)).deactivatedReason, 'consumed');
    assert.equal(available(await account(t, info.id)), 0n, 'what was not reserved went back at once');
    await tokens.capture(t, reservation.id, '3.00');
    const left = await account(t, info.id);
    assert.deepEqual([available(left), left.debitsPending], [0n, 0n]);
    const allocation = await billing.ledger.getAccount(t, allocationAccountId(t, 'USD'));
    assert.equal(allocation.debitsPosted - allocation.creditsPosted, usd('3.00'));
    await balanced(t);
  });

  it('revoking a parent deactivates its children and voids their reservations', async () => {
    const t = fresh();
    const parent = await issue(t);
    const child = await tokens.narrow(t, parent.token, { maxAmount: '4.00' });
    const open = await reserve(t, child.token, '2.00');
    const revoked = await tokens.revoke(t, parent.info.id, 'agent finished');
    assert.deepEqual([revoked.deactivatedReason, revoked.note], ['revoked', 'agent finished']);
    assert.deepEqual(await tokens.revoke(t, parent.info.id), revoked, 'revoking twice is a no-op');
    assert.equal((await tokens.inspect(t, child.info.id)).deactivatedReason, 'revoked');
    assert.equal((await tokens.getReservation(t, open.id)).status, 'voided');
    const before = await snapshot(t);
    await assert.rejects(reserve(t, child.token, '1.00'), withCode('E_SPEND_TOKEN_INACTIVE'));
    await assert.rejects(reserve(t, parent.token, '1.00'), withCode('E_SPEND_TOKEN_INACTIVE'));
    await assert.rejects(tokens.narrow(t, parent.token, {}), withCode('E_SPEND_TOKEN_INACTIVE'));
    assert.equal(await snapshot(t), before);
    assert.equal(available(await account(t, parent.info.id)), 0n);
    await balanced(t);
  });

  it('refuses out-of-scope purchases and amounts over perUseMax or maxAmount, charging nothing', async () => {
    const t = fresh();
    const { token } = await issue(t, {
      scope: { kinds: ['postgres'], priceIds: ['pg-small'] },
      perUseMax: '3.00',
    });
    const buy = (amount: string, purchase: ReserveInput['purchase']) =>
      reserve(t, token, amount, { purchase });
    await buy('3.00', { kind: 'postgres', priceId: 'pg-small' });
    await buy('3.00', { kind: 'postgres', priceId: 'pg-small' });
    await buy('3.00', { kind: 'postgres', priceId: 'pg-small' });
    const before = await snapshot(t);
    await assert.rejects(
      buy('1.00', { kind: 'sandbox', priceId: 'pg-small' }),
      withCode('E_SPEND_TOKEN_SCOPE'),
    );
    await assert.rejects(
      buy('1.00', { kind: 'postgres', priceId: 'pg-large' }),
      withCode('E_SPEND_TOKEN_SCOPE'),
    );
    await assert.rejects(buy('1.00', { kind: 'postgres' }), withCode('E_SPEND_TOKEN_SCOPE'));
    await assert.rejects(
      buy('3.01', { kind: 'postgres', priceId: 'pg-small' }),
      withCode('E_SPEND_TOKEN_LIMIT'),
    );
    await assert.rejects(
      buy('1.01', { kind: 'postgres', priceId: 'pg-small' }),
      withCode('E_SPEND_TOKEN_LIMIT'),
    );
    assert.equal(await snapshot(t), before);
    await buy('1.00', { kind: 'postgres', priceId: 'pg-small' }); // exactly the last 1.00
  });

  it('refuses bad amounts, another currency and tampered or foreign secrets, charging nothing', async () => {
    const t = fresh();
    const { token, info } = await issue(t);
    const other = await issue(fresh());
    const before = await snapshot(t);
    for (const amount of ['-1.00', 'NaN', 'Infinity', '1.001', '', '0', '1e3', ' 1.00'])
      await assert.rejects(reserve(t, token, amount), withCode('E_INVALID_MONEY'), amount);
    await assert.rejects(reserve(t, token, 1.5 as unknown as string), withCode('E_INVALID_MONEY'));
    await assert.rejects(reserve(t, token, '1.00', { currency: 'EUR' }), withCode('E_CURRENCY_MISMATCH'));
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const secret of [flipped, 'spt_short', `${token}x`, other.token, info.id])
      await assert.rejects(reserve(t, secret, '1.00'), withCode('E_SPEND_TOKEN_INVALID'));
    await assert.rejects(tokens.inspect(t, flipped), withCode('E_SPEND_TOKEN_INVALID'));
    await assert.rejects(tokens.inspect(t, other.info.id), withCode('E_NOT_FOUND'));
    await assert.rejects(reserve(t, token, '1.00', { idempotencyKey: '' }), withCode('E_INVALID_INPUT'));
    await assert.rejects(reserve(t, token, '1.00', { purchase: { kind: '' } }), withCode('E_INVALID_INPUT'));
    assert.equal(await snapshot(t), before);
  });

  it('refuses bad terms at issue and opens nothing', async () => {
    const t = fresh();
    await issue(t);
    const before = await snapshot(t);
    const bad: [Partial<IssueSpendTokenInput>, string][] = [
      [{ scope: {} }, 'E_INVALID_INPUT'],
      [{ scope: { kinds: [] } }, 'E_INVALID_INPUT'],
      [{ currency: 'XXX' }, 'E_UNKNOWN_CURRENCY'],
      [{ maxAmount: '-5.00' }, 'E_INVALID_MONEY'],
      [{ maxAmount: '0.00' }, 'E_INVALID_MONEY'],
      [{ maxAmount: '0.001' }, 'E_INVALID_MONEY'],
      [{ perUseMax: '11.00' }, 'E_INVALID_INPUT'],
      [{ expiresAt: clock.now() }, 'E_INVALID_INPUT'],
      [{ expiresAt: Number.NaN }, 'E_INVALID_INPUT'],
    ];
    for (const [over, code] of bad)
      await assert.rejects(issue(t, over), withCode(code), JSON.stringify(over));
    assert.equal(await snapshot(t), before);
  });

  it('narrows but never widens; a child spends against its parent and every ancestor', async () => {
    const t = fresh();
    const root = await issue(t, { perUseMax: '6.00' });
    const a = await tokens.narrow(t, root.token, { maxAmount: '6.00', scope: { kinds: ['postgres'] } });
    const b = await tokens.narrow(t, root.token, { maxAmount: '6.00', usage: 'single' });
    assert.deepEqual(a.info.scope, { kinds: ['postgres'] });
    assert.deepEqual(
      [a.info.parentId, a.info.perUseMax, a.info.expiresAt],
      [root.info.id, usd('6.00'), root.info.expiresAt],
    );
    const before = await snapshot(t);
    const widen: Parameters<SpendTokens['narrow']>[2][] = [
      { scope: { kinds: ['postgres', 'browser'] } },
      { scope: { kinds: ['browser'] } },
      { maxAmount: '10.01' },
      { perUseMax: '6.01' },
      { expiresAt: root.info.expiresAt + 1 },
    ];
    for (const input of widen)
      await assert.rejects(
        tokens.narrow(t, root.token, input),
        withCode('E_ATTENUATION'),
        JSON.stringify(input),
      );
    await assert.rejects(tokens.narrow(t, b.token, { usage: 'multi' }), withCode('E_ATTENUATION'));
    const pinned = await tokens.narrow(t, a.token, { scope: { resourceId: 'db-1' }, maxAmount: '1.00' });
    const snap = await snapshot(t);
    await assert.rejects(
      tokens.narrow(t, pinned.token, { scope: { resourceId: 'db-2' } }),
      withCode('E_ATTENUATION'),
    );
    await assert.rejects(tokens.narrow(t, root.token, { currency: 'EUR' }), withCode('E_CURRENCY_MISMATCH'));
    await assert.rejects(tokens.narrow(t, root.token, { maxAmount: '-1' }), withCode('E_INVALID_MONEY'));
    assert.equal(await snapshot(t), snap);
    assert.notEqual(snap, before); // only `pinned` was made in between
    await assert.rejects(
      reserve(t, a.token, '1.00', { purchase: { kind: 'sandbox' } }),
      withCode('E_SPEND_TOKEN_SCOPE'),
    );
    await reserve(t, a.token, '6.00');
    // The root has 4.00 left although b alone allows 6.00: siblings share their parent.
    await assert.rejects(reserve(t, b.token, '4.01'), withCode('E_SPEND_TOKEN_LIMIT'));
    await reserve(t, b.token, '4.00');
    await assert.rejects(tokens.narrow(t, root.token, {}), withCode('E_ATTENUATION'));
    const [r, ca, cb] = await Promise.all([root, a, b].map((x) => tokens.inspect(t, x.info.id)));
    assert.deepEqual(
      [r?.reservedAmount, ca?.reservedAmount, cb?.reservedAmount],
      [usd('10.00'), usd('6.00'), usd('4.00')],
    );
    assert.equal(cb?.deactivatedReason, 'consumed');
    assert.equal(available(await account(t, root.info.id)), 0n);
    await balanced(t);
  });

  it('a grandchild is held to every ancestor, not only to the root', async () => {
    const t = fresh();
    const root = await issue(t);
    const child = await tokens.narrow(t, root.token, { maxAmount: '2.00' });
    const g1 = await tokens.narrow(t, child.token, {});
    const g2 = await tokens.narrow(t, child.token, {});
    assert.equal(g1.info.maxAmount, usd('2.00'), 'maxAmount defaults to the parent’s remaining');
    const first = await reserve(t, g1.token, '1.50');
    const before = await snapshot(t);
    // The root has 8.50 left and g2 allows 2.00, but their parent only 0.50.
    await assert.rejects(reserve(t, g2.token, '1.00'), withCode('E_SPEND_TOKEN_LIMIT'));
    assert.equal(await snapshot(t), before);
    await tokens.capture(t, first.id, '1.00'); // 0.50 of the hold is released to the whole chain
    await reserve(t, g2.token, '1.00');
    const seen = await Promise.all([root, child, g1, g2].map((x) => tokens.inspect(t, x.info.id)));
    assert.deepEqual(
      seen.map((x) => [x.reservedAmount, x.capturedAmount]),
      [
        [usd('1.00'), usd('1.00')],
        [usd('1.00'), usd('1.00')],
        [0n, usd('1.00')],
        [usd('1.00'), 0n],
      ],
    );
    await tokens.revoke(t, child.info.id);
    assert.equal(
      (await tokens.inspect(t, root.info.id)).status,
      'active',
      'revoking a child spares its parent',
    );
    assert.equal((await tokens.inspect(t, g2.info.id)).deactivatedReason, 'revoked');
    assert.equal(
      (await tokens.inspect(t, root.info.id)).reservedAmount,
      0n,
      'the voided hold left every ancestor',
    );
    await balanced(t);
  });

  it('gives back the room of a hold left by a crashed holder once it times out', async () => {
    const t = fresh();
    const { token, info } = await issue(t, { maxAmount: '1.00' });
    const leaked = await reserve(t, token, '1.00'); // never captured: the holder "died"
    await assert.rejects(reserve(t, token, '0.50'), withCode('E_SPEND_TOKEN_LIMIT'));
    clock.advance(60_000);
    await reserve(t, token, '0.50');
    assert.equal((await tokens.getReservation(t, leaked.id)).status, 'expired');
    assert.equal((await tokens.inspect(t, info.id)).reservedAmount, usd('0.50'));
    assert.equal((await billing.ledger.getPending(t, leaked.id))?.status, 'expired');
    await balanced(t);
  });

  it('never overspends: 250 concurrent reserves (two connection pools on PostgreSQL), exactly floor(max/amount) win', async () => {
    const t = fresh();
    // SQLite serves one process through one connection; PostgreSQL gets a second pool, as a second process would.
    const second = db().dialect === 'postgres' ? await db().open() : undefined;
    const other = second
      ? new SpendTokens({ store: second, ledger: new Ledger({ store: second, clock }) })
      : tokens;
    const { token, info } = await issue(t, { maxAmount: '5.00' });
    const results = await Promise.allSettled(
      Array.from({ length: 250 }, (_, i) =>
        (i % 2 ? other : tokens).reserve(t, {
          secret: token,
          amount: '0.03',
          purchase: { kind: 'postgres' },
          idempotencyKey: `c${i}`,
        }),
      ),
    );
    await second?.close();
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    assert.equal(won.length, 166); // floor(5.00 / 0.03)
    assert.ok(lost.every(withCode('E_SPEND_TOKEN_LIMIT')), 'every loser is refused for the limit');
    const state = await tokens.inspect(t, info.id);
    assert.deepEqual([state.reservedAmount, state.remainingAmount], [usd('4.98'), usd('0.02')]);
    const held = await account(t, info.id);
    assert.deepEqual([held.debitsPending, available(held)], [usd('4.98'), usd('0.02')]);
    await balanced(t);
  });
});

onEveryStore('spend token syscalls', (db) => {
  let kernel: Kernel;
  let billing: Billing;
  let admin: Principal;
  const logLines: string[] = [];

  before(async () => {
    const store = await db().open();
    billing = await Billing.open({ store });
    const tokens = await SpendTokens.open({ store, ledger: billing.ledger });
    kernel = await Kernel.open({
      store,
      masterKey: randomBytes(32),
      logger: createLogger({
        level: 'trace',
        destination: new Writable({
          write: (chunk: Buffer, _e, done) => (logLines.push(chunk.toString()), done()),
        }),
      }),
    });
    for (const definition of spendTokenSyscalls(tokens)) kernel.register(definition);
    const tenant = await kernel.principals.createTenant('acme');
    const { key } = await kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'admin',
      grants: [{ syscall: '*', resource: '*' }],
    });
    admin = await kernel.authenticate({ apiKey: key });
  });
  after(() => kernel.close(1000));

  type Issued = {
    token: string;
    info: { id: string; maxAmount: string; status: string; deactivatedReason?: string };
  };
  const call = <T>(name: string, input: unknown): Promise<T> =>
    kernel.call<T>(name, input, { principal: admin });

  it('issues, narrows, inspects, lists and revokes, never recording a secret', async () => {
    const expiresAt = new Date(Date.now() + HOUR).toISOString();
    const root = await call<Issued>('billing.tokens.issue', {
      scope: { kinds: ['postgres'] },
      maxAmount: '5.00',
      expiresAt,
    });
    assert.equal(root.info.maxAmount, '5.00');
    const child = await call<Issued>('billing.tokens.narrow', { secret: root.token, maxAmount: '1.50' });
    assert.equal(child.info.maxAmount, '1.50');
    const seen = await call<Issued['info']>('billing.tokens.inspect', { secret: child.token });
    assert.equal(seen.id, child.info.id);
    await assert.rejects(
      call('billing.tokens.narrow', { secret: root.token, maxAmount: '5.01' }),
      withCode('E_ATTENUATION'),
    );
    const tampered = `${root.token.slice(0, -2)}zz`;
    await assert.rejects(
      call('billing.tokens.inspect', { secret: tampered }),
      withCode('E_SPEND_TOKEN_INVALID'),
    );
    await assert.rejects(
      call('billing.tokens.issue', { scope: {}, maxAmount: '1.00', expiresAt }),
      withCode('E_INVALID_INPUT'),
    );
    const revoked = await call<Issued['info']>('billing.tokens.revoke', { id: root.info.id, reason: 'done' });
    assert.equal(revoked.deactivatedReason, 'revoked');
    const listed = await call<{ tokens: { id: string }[] }>('billing.tokens.list', { status: 'deactivated' });
    assert.deepEqual(listed.tokens.map((x) => x.id).sort(), [root.info.id, child.info.id].sort());
    assert.deepEqual(
      (await call<{ tokens: unknown[] }>('billing.tokens.list', { status: 'active' })).tokens,
      [],
    );
    await kernel.audit.flush();
    const recorded = JSON.stringify(await kernel.store.all('SELECT * FROM kernel_audit')) + logLines.join('');
    for (const secret of [root.token, child.token, tampered])
      assert.ok(!recorded.includes(secret), 'a secret reached the audit log or the logs');
    assert.ok(recorded.includes('[REDACTED]'));
  });
});
