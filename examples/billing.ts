import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defineSyscall, Kernel, ManualClock, openStore } from './src/kernel/index.ts';
import { Billing, billingSyscalls } from './src/provisioning/index.ts';

const store = await openStore('sqlite::memory:'); // or 'postgres://127.0.0.1/strata'
const clock = new ManualClock(new Date('2026-11-30T23:00:00Z'));
const billing = await Billing.open({ store, clock });
const kernel = await Kernel.open({ store, clock, masterKey: randomBytes(32), budget: billing.budgetHook });
for (const definition of billingSyscalls(billing)) kernel.register(definition);
kernel.register(
  defineSyscall({
    name: 'demo.generate',
    description: 'a model call: estimated at most 0.30, actually 0.12',
    input: z.object({}),
    output: z.object({ ok: z.boolean() }),
    idempotency: 'unsafe',
    estimateCost: () => 300_000, // micro-units: 0.30 USD is held before the call
    actualCost: () => 120_000, // 0.12 is posted after it; the rest of the hold is released
    handler: () => ({ ok: true }),
  }),
);
const tenant = await kernel.principals.createTenant('acme');
const { key } = await kernel.principals.createApiKey({
  tenantId: tenant.id,
  name: 'agent',
  grants: [{ syscall: '*', resource: '*' }],
});
const principal = await kernel.authenticate({ apiKey: key });

await kernel.call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: '0.50' }, { principal });
for (let i = 1; i <= 4; i++) {
  const outcome = await kernel.call('demo.generate', {}, { principal }).then(
    () => 'ok',
    (error: { code: string }) => error.code,
  );
  console.log(`call ${i}: ${outcome}`);
}
const [budget] = (
  await kernel.call<{ budgets: { spent: string; available: string }[] }>(
    'billing.budgets.list',
    {},
    { principal },
  )
).budgets;
console.log(`spent ${budget?.spent}, available ${budget?.available}`);
clock.set(new Date('2026-12-01T00:00:00Z')); // a new month (UTC): a fresh budget period
console.log(`December: ${await kernel.call('demo.generate', {}, { principal }).then(() => 'ok')}`);
const trial = await kernel.call<{ currencies: { currency: string; difference: string }[] }>(
  'billing.ledger.trial_balance',
  {},
  { principal },
);
console.log(trial.currencies.map((c) => `trial balance ${c.currency}: ${c.difference}`).join('\n'));
await kernel.close(1000);
