import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, it } from 'node:test';
import { ManualClock, type Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { Delegations } from './delegations.ts';
import { delegate, invoke, testSigner, type TestSigner } from './testing.ts';
import { linkId } from './tokens.ts';

const START = Date.UTC(2030, 0, 1);
const b64 = (v: unknown): string =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const payloadOf = (jws: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

onEveryStore('delegation', (db) => {
  let store: Store;
  let delegations: Delegations;
  const clock = new ManualClock(START);
  const tenant = 'ten_dlg';
  const now = (): number => Math.floor(clock.now() / 1000);
  // alice owns the subject and delegates to bob, bob to carol, carol to dave, who invokes.
  let alice: TestSigner, bob: TestSigner, carol: TestSigner, dave: TestSigner, mallory: TestSigner;
  const limit = ['<=', '.args.amount', 100];
  const domain = ['like', '.args.to', '*@example.com'];

  before(async () => {
    store = await db().open();
    delegations = await Delegations.open({ store, clock });
    [alice, bob, carol, dave, mallory] = [
      testSigner(),
      testSigner(),
      testSigner(),
      testSigner(),
      testSigner(),
    ];
  });
  after(() => store.close());

  /** The standard 3-link chain, with the last link's claims overridable. */
  const chain = async (last: Record<string, unknown> = {}): Promise<string[]> => [
    await delegate(alice, bob, { nowSeconds: now(), cmd: '/crypto', pol: [limit] as never }),
    await delegate(bob, carol, {
      nowSeconds: now(),
      sub: alice.did,
      cmd: '/crypto/sign',
      pol: [limit, domain] as never,
    }),
    await delegate(carol, dave, {
      nowSeconds: now(),
      sub: alice.did,
      cmd: '/crypto/sign',
      pol: [limit, domain, ['!=', '.args.to', 'boss@example.com']] as never,
      ...last,
    }),
  ];
  const invocation = (prf: string[], over: Record<string, unknown> = {}, by: TestSigner = dave) =>
    invoke(by, {
      nowSeconds: now(),
      sub: alice.did,
      cmd: '/crypto/sign',
      args: { amount: 50, to: 'ops@example.com' },
      prf,
      ...over,
    });
  const nonces = async (): Promise<number> =>
    Number((await store.get<{ n: number }>('SELECT COUNT(*) AS n FROM identity_delegation_nonces'))?.n);
  /** Refused with `code` by verify and invoke, leaving the replay store unchanged; returns explain(). */
  const refused = async (jws: string, code: string, rule: string) => {
    const before = await nonces();
    await assert.rejects(delegations.verify(tenant, jws), withCode(code));
    await assert.rejects(delegations.invoke(tenant, jws), withCode(code));
    assert.equal(await nonces(), before, 'a refused invocation records no nonce');
    const explained = await delegations.explain(tenant, jws);
    assert.deepEqual([explained.allowed, explained.code, explained.rule], [false, code, rule]);
    return explained;
  };

  it('verifies a 3-link chain, uses the invocation once and explains the decision', async () => {
    const prf = await chain();
    const jws = await invocation(prf);
    const verified = await delegations.verify(tenant, jws);
    assert.deepEqual([verified.invoker, verified.sub, verified.cmd], [dave.did, alice.did, '/crypto/sign']);
    assert.deepEqual(
      verified.chain.map((l) => [l.link, l.iss]),
      [
        [0, alice.did],
        [1, bob.did],
        [2, carol.did],
        ['invocation', dave.did],
      ],
    );
    assert.equal(verified.chain[1]?.cid, linkId(prf[1] as string));
    const explained = await delegations.explain(tenant, jws);
    assert.deepEqual(
      [explained.allowed, explained.rule, explained.chain.length],
      [true, 'all-rules-passed', 4],
    );
    await delegations.invoke(tenant, jws);
    await refused(jws, 'E_DELEGATION_REPLAY', 'nonce-unused');
    // A fresh invocation on the same chain is fine: delegations are reusable, invocations are not.
    await delegations.invoke(tenant, await invocation(prf));
  });

  it('refuses a link that widens the command, also by the /crypto vs /cryptocurrency prefix trick', async () => {
    const widened = await refused(
      await invocation(await chain({ cmd: '/crypto' })),
      'E_DELEGATION_ATTENUATION',
      'command-narrows',
    );
    assert.equal(widened.link, 2);
    // bob holds /crypto; /cryptocurrency is not below it.
    const tricked = [
      await delegate(alice, bob, { nowSeconds: now(), cmd: '/crypto' }),
      await delegate(bob, dave, { nowSeconds: now(), sub: alice.did, cmd: '/cryptocurrency' }),
    ];
    await refused(
      await invocation(tricked, { cmd: '/cryptocurrency' }),
      'E_DELEGATION_ATTENUATION',
      'command-narrows',
    );
    // An honest chain for /crypto does not cover invoking /cryptocurrency either.
    const honest = [await delegate(alice, dave, { nowSeconds: now(), cmd: '/crypto' })];
    await refused(
      await invocation(honest, { cmd: '/cryptocurrency' }),
      'E_DELEGATION_COMMAND',
      'command-covered',
    );
    await delegations.verify(tenant, await invocation(honest, { cmd: '/crypto/sign/ed25519' }));
  });

  it('refuses a link whose policy drops a parent predicate, and arguments that fail the policy', async () => {
    const looser = await refused(
      await invocation(await chain({ pol: [limit] })),
      'E_DELEGATION_ATTENUATION',
      'policy-tightens',
    );
    assert.deepEqual([looser.link, looser.chain.length], [2, 4]);
    const prf = await chain();
    for (const args of [
      { amount: 500, to: 'ops@example.com' },
      { amount: 5, to: 'ops@evil.test' },
      { to: 'a@example.com' },
      { amount: 5, to: 'boss@example.com' },
    ]) {
      await refused(await invocation(prf, { args }), 'E_DELEGATION_POLICY', 'policy-holds');
    }
  });

  it('refuses a forged signature anywhere in the chain or on the invocation', async () => {
    const prf = await chain();
    const [head, , sig] = (prf[1] as string).split('.');
    const forgedBody = b64({ ...payloadOf(prf[1] as string), cmd: '/' });
    const forged = [prf[0] as string, `${head}.${forgedBody}.${sig}`, prf[2] as string];
    assert.equal((await refused(await invocation(forged), 'E_DELEGATION_SIGNATURE', 'signature')).link, 1);
    // mallory signs an invocation claiming to be dave: the signature does not match dave's did:key.
    const claimed = await invocation(prf, {}, mallory);
    const [, , mSig] = claimed.split('.');
    const asDave = `${claimed.split('.')[0]}.${b64({ ...payloadOf(claimed), iss: dave.did })}.${mSig}`;
    assert.equal((await refused(asDave, 'E_DELEGATION_SIGNATURE', 'signature')).link, 'invocation');
  });

  it('refuses an invocation signed by someone other than the final audience (a stolen chain)', async () => {
    const explained = await refused(
      await invocation(await chain(), {}, mallory),
      'E_DELEGATION_INVOKER',
      'invoker-is-final-audience',
    );
    assert.equal(explained.link, 'invocation');
  });

  it('refuses a chain whose audience and next issuer do not line up, or whose subject changes', async () => {
    const misaligned = [
      await delegate(alice, bob, { nowSeconds: now(), cmd: '/crypto' }),
      await delegate(carol, dave, { nowSeconds: now(), sub: alice.did, cmd: '/crypto' }),
    ];
    assert.equal(
      (await refused(await invocation(misaligned), 'E_DELEGATION_CHAIN', 'audience-is-next-issuer')).link,
      1,
    );
    const notRoot = [await delegate(bob, dave, { nowSeconds: now(), sub: alice.did, cmd: '/crypto' })];
    await refused(await invocation(notRoot), 'E_DELEGATION_CHAIN', 'root-issued-by-subject');
    const otherSubject = [
      await delegate(alice, bob, { nowSeconds: now(), cmd: '/crypto' }),
      await delegate(bob, dave, { nowSeconds: now(), sub: bob.did, cmd: '/crypto' }),
    ];
    await refused(await invocation(otherSubject), 'E_DELEGATION_CHAIN', 'subject-constant');
  });

  it('refuses an expired or not-yet-valid link and an expired invocation', async () => {
    const prf = [
      await delegate(alice, bob, { nowSeconds: now(), cmd: '/crypto' }),
      await delegate(bob, carol, { nowSeconds: now(), sub: alice.did, cmd: '/crypto', exp: now() + 10 }),
      await delegate(carol, dave, { nowSeconds: now(), sub: alice.did, cmd: '/crypto' }),
    ];
    const fresh = await invocation(prf);
    await delegations.verify(tenant, fresh);
    clock.advance(10_000);
    assert.equal((await refused(await invocation(prf), 'E_DELEGATION_EXPIRED', 'time-bounds')).link, 1);
    const early = [await delegate(alice, dave, { nowSeconds: now(), cmd: '/crypto', nbf: now() + 60 })];
    await refused(await invocation(early), 'E_DELEGATION_EXPIRED', 'time-bounds');
    const ok = [await delegate(alice, dave, { nowSeconds: now(), cmd: '/crypto' })];
    const stale = await invocation(ok, { exp: now() + 5 });
    clock.advance(5_000);
    assert.equal((await refused(stale, 'E_DELEGATION_EXPIRED', 'time-bounds')).link, 'invocation');
  });

  it('revoking the middle link refuses every chain through it, and only those', async () => {
    const prf = await chain();
    const middle = linkId(prf[1] as string);
    const pending = await invocation(prf);
    await delegations.verify(tenant, pending);
    const revoked = await delegations.revoke(tenant, {
      cid: middle,
      reason: 'carol left',
      revokedBy: 'key_admin',
    });
    assert.equal(revoked.cid, middle);
    assert.deepEqual(
      await delegations.revoke(tenant, { cid: middle, revokedBy: 'x' }),
      revoked,
      'idempotent',
    );
    const explained = await refused(pending, 'E_DELEGATION_REVOKED', 'not-revoked');
    assert.equal(explained.link, 1);
    // carol using the revoked link directly, and a link carol issues below it later: both refused.
    await refused(await invocation(prf.slice(0, 2), {}, carol), 'E_DELEGATION_REVOKED', 'not-revoked');
    const erin = testSigner();
    const below = [
      ...prf.slice(0, 2),
      await delegate(carol, erin, {
        nowSeconds: now(),
        sub: alice.did,
        cmd: '/crypto/sign',
        pol: [limit, domain] as never,
      }),
    ];
    await refused(await invocation(below, {}, erin), 'E_DELEGATION_REVOKED', 'not-revoked');
    // The link above is untouched, and another tenant does not see this tenant's revocation.
    await delegations.verify(tenant, await invocation(prf.slice(0, 1), {}, bob));
    await delegations.verify('ten_other', pending);
    await assert.rejects(
      delegations.revoke(tenant, { cid: 'abc', revokedBy: 'x' }),
      withCode('E_INVALID_INPUT'),
    );
  });

  it('refuses alg:none and HS256 keyed with the issuer’s public key, on a link or the invocation', async () => {
    const prf = await chain();
    const typOf = (jws: string): string =>
      (JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString()) as { typ: string }).typ;
    const none = (jws: string): string => `${b64({ alg: 'none', typ: typOf(jws) })}.${jws.split('.')[1]}.`;
    // The classic confusion: HMAC keyed with the verifier's public key, as raw bytes or as PEM.
    const hs256 = (jws: string, signer: TestSigner, pem = false): string => {
      const input = `${b64({ alg: 'HS256', typ: typOf(jws) })}.${jws.split('.')[1]}`;
      const key = pem
        ? signer.publicKey.export({ format: 'pem', type: 'spki' })
        : Buffer.from(signer.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
      return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
    };
    const widened = await delegate(carol, dave, { nowSeconds: now(), sub: alice.did, cmd: '/', pol: [] });
    const unsigned = [prf[0] as string, prf[1] as string, none(widened)];
    assert.equal((await refused(await invocation(unsigned), 'E_DELEGATION_ALG', 'alg-eddsa')).link, 2);
    const hmac = [prf[0] as string, prf[1] as string, hs256(widened, carol)];
    assert.equal((await refused(await invocation(hmac), 'E_DELEGATION_ALG', 'alg-eddsa')).link, 2);
    const good = await invocation(prf);
    await refused(none(good), 'E_DELEGATION_ALG', 'alg-eddsa');
    await refused(hs256(good, dave), 'E_DELEGATION_ALG', 'alg-eddsa');
    await refused(hs256(good, dave, true), 'E_DELEGATION_ALG', 'alg-eddsa');
    // A delegation is not an invocation (typ differs), and junk is malformed.
    await refused(prf[2] as string, 'E_DELEGATION_MALFORMED', 'well-formed');
    await refused('not.a.jws', 'E_DELEGATION_MALFORMED', 'well-formed');
    await delegations.verify(tenant, good);
  });

  it('uses an invocation at most once under concurrency', async () => {
    const jws = await invocation(await chain());
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => delegations.invoke(tenant, jws)),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results)
      if (r.status === 'rejected') assert.ok(withCode('E_DELEGATION_REPLAY')(r.reason));
  });
});
