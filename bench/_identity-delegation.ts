// Part 2 of `npm run bench -- identity`: verifications per second of an invocation with a 3-link
// proof chain (UCAN-shaped JWS, EdDSA), side by side with verifying the same 4 JWS directly with
// `jose` (compactVerify, keys already resolved). Strata adds the did:key lookups, claim validation,
// the chain rules, policy evaluation, link ids (SHA-256) and two store reads (revocations and the
// replay store) on SQLite. Target: overhead <= 3x the bare jose verifications.
import { compactVerify } from 'jose';
import { ManualClock } from '../src/kernel/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { publicKeyFromDidKey } from '../src/identity/agents/index.ts';
import { checkInvocation, Delegations } from '../src/identity/delegation/index.ts';
import { delegate, invoke, testSigner } from '../src/identity/delegation/testing.ts';
import { round } from './_util.ts';

export const DELEGATION_TARGET = 3;

export interface DelegationFigures {
  readonly iterations: number;
  readonly chainLinks: 3;
  readonly joseVerificationsPerSec: number;
  readonly joseUs: number;
  readonly strataPureVerificationsPerSec: number;
  readonly strataPureUs: number;
  readonly strataSqliteVerificationsPerSec: number;
  readonly strataSqliteUs: number;
  readonly ratioPure: number;
  /** Delegations.verify on SQLite ÷ jose: the figure the target is about. */
  readonly ratio: number;
  readonly target: string;
  readonly met: boolean;
}

/** One invocation by dave under alice → bob → carol → dave, and the 4 JWS with their keys. */
async function chain(now: number) {
  const [alice, bob, carol, dave] = [testSigner(), testSigner(), testSigner(), testSigner()];
  const limit = ['<=', '.args.amount', 100];
  const domain = ['like', '.args.to', '*@example.com'];
  const narrowed = { nowSeconds: now, sub: alice.did, cmd: '/crypto/sign', pol: [limit, domain] as never };
  const prf = [
    await delegate(alice, bob, { nowSeconds: now, cmd: '/crypto', pol: [limit] as never }),
    await delegate(bob, carol, narrowed),
    await delegate(carol, dave, narrowed),
  ];
  const invocation = await invoke(dave, {
    nowSeconds: now,
    sub: alice.did,
    cmd: '/crypto/sign',
    args: { amount: 50, to: 'ops@example.com' },
    prf,
  });
  const keys = [alice, bob, carol, dave].map((s) => publicKeyFromDidKey(s.did));
  return { invocation, tokens: [...prf, invocation], keys };
}

/** Microseconds per call after a warm-up (JIT, caches). */
async function timed(iterations: number, run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, iterations); i++) await run();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) await run();
  return ((performance.now() - started) * 1000) / iterations;
}

export async function benchDelegation(iterations: number): Promise<DelegationFigures> {
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  const { invocation, tokens, keys } = await chain(Math.floor(clock.now() / 1000));
  const store = await createSqliteStore({ path: ':memory:' });
  const delegations = await Delegations.open({ store, clock });
  const joseUs = await timed(iterations, async () => {
    for (const [i, jws] of tokens.entries())
      await compactVerify(jws, keys[i] as never, { algorithms: ['EdDSA'] });
  });
  const pureUs = await timed(iterations, () =>
    checkInvocation(invocation, {
      now: clock.now(),
      revoked: () => Promise.resolve(undefined),
      nonceUsed: () => Promise.resolve(false),
    }),
  );
  const storeUs = await timed(iterations, () => delegations.verify('ten_bench', invocation));
  await store.close();

  const ratio = storeUs / joseUs;
  return {
    iterations,
    chainLinks: 3,
    joseVerificationsPerSec: Math.round(1e6 / joseUs),
    joseUs: round(joseUs),
    strataPureVerificationsPerSec: Math.round(1e6 / pureUs),
    strataPureUs: round(pureUs),
    strataSqliteVerificationsPerSec: Math.round(1e6 / storeUs),
    strataSqliteUs: round(storeUs),
    ratioPure: round(pureUs / joseUs),
    ratio: round(ratio),
    target: `<= ${DELEGATION_TARGET}`,
    met: ratio <= DELEGATION_TARGET,
  };
}
