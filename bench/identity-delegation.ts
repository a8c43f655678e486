// `npm run bench -- identity-delegation [--iterations N]`: verifications per second of an invocation
// with a 3-link proof chain (UCAN-shaped JWS, EdDSA), side by side with verifying the same 4 JWS
// directly with `jose` (compactVerify, keys already resolved). Strata adds the did:key lookups, claim
// validation, the chain rules, policy evaluation, link ids (SHA-256) and two store reads (revocations
// and the replay store) on SQLite. Target: overhead ≤ 3× the bare jose verifications.
import { compactVerify } from 'jose';
import { ManualClock } from '../src/kernel/index.ts';
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { publicKeyFromDidKey } from '../src/identity/agents/index.ts';
import { checkInvocation, Delegations } from '../src/identity/delegation/index.ts';
import { delegate, invoke, testSigner } from '../src/identity/delegation/testing.ts';
import { round, table } from './_util.ts';

const arg = process.argv.indexOf('--iterations');
const iterations = arg > 0 ? Number(process.argv[arg + 1]) : 3000;
const clock = new ManualClock(Date.UTC(2030, 0, 1));
const now = Math.floor(clock.now() / 1000);
const [alice, bob, carol, dave] = [testSigner(), testSigner(), testSigner(), testSigner()];
const limit = ['<=', '.args.amount', 100];
const domain = ['like', '.args.to', '*@example.com'];
const prf = [
  await delegate(alice, bob, { nowSeconds: now, cmd: '/crypto', pol: [limit] as never }),
  await delegate(bob, carol, {
    nowSeconds: now,
    sub: alice.did,
    cmd: '/crypto/sign',
    pol: [limit, domain] as never,
  }),
  await delegate(carol, dave, {
    nowSeconds: now,
    sub: alice.did,
    cmd: '/crypto/sign',
    pol: [limit, domain] as never,
  }),
];
const invocation = await invoke(dave, {
  nowSeconds: now,
  sub: alice.did,
  cmd: '/crypto/sign',
  args: { amount: 50, to: 'ops@example.com' },
  prf,
});
const tokens = [...prf, invocation];
const keys = [alice, bob, carol, dave].map((s) => publicKeyFromDidKey(s.did));

async function timed(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, iterations); i++) await run(); // warm-up (JIT, caches)
  const started = performance.now();
  for (let i = 0; i < iterations; i++) await run();
  return ((performance.now() - started) * 1000) / iterations;
}

const store = await createSqliteStore({ path: ':memory:' });
const delegations = await Delegations.open({ store, clock });
const tenant = 'ten_bench';
const joseUs = await timed(async () => {
  for (const [i, jws] of tokens.entries())
    await compactVerify(jws, keys[i] as never, { algorithms: ['EdDSA'] });
});
const pureUs = await timed(() =>
  checkInvocation(invocation, {
    now: clock.now(),
    revoked: () => Promise.resolve(undefined),
    nonceUsed: () => Promise.resolve(false),
  }),
);
const storeUs = await timed(() => delegations.verify(tenant, invocation));
await store.close();

const ratioPure = pureUs / joseUs;
const ratioStore = storeUs / joseUs;
process.stdout.write(
  `${iterations} verifications of one invocation with a 3-link proof chain (4 EdDSA JWS), one process\n\n` +
    table([
      ['verifier', 'verifications/s', 'µs each', 'vs jose'],
      ['jose compactVerify ×4 (baseline)', 1e6 / joseUs, joseUs, 1],
      ['Strata chain rules, no store', 1e6 / pureUs, pureUs, ratioPure],
      ['Strata Delegations.verify, SQLite', 1e6 / storeUs, storeUs, ratioStore],
    ]) +
    `\n\ntarget: overhead ≤ 3× jose → ${ratioStore <= 3 ? 'met' : 'NOT met'}\n\n`,
);
process.stdout.write(
  JSON.stringify({
    bench: 'identity-delegation',
    iterations,
    chain_links: 3,
    jose_verifications_per_s: Math.round(1e6 / joseUs),
    jose_us: round(joseUs),
    strata_pure_verifications_per_s: Math.round(1e6 / pureUs),
    strata_pure_us: round(pureUs),
    strata_sqlite_verifications_per_s: Math.round(1e6 / storeUs),
    strata_sqlite_us: round(storeUs),
    ratio_pure_vs_jose: round(ratioPure),
    ratio_sqlite_vs_jose: round(ratioStore),
    target_met: ratioStore <= 3,
  }) + '\n',
);
