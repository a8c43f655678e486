/**
 * @module web/testing-layers
 * Test support for the layer pages (not exported): seeds one of each thing they show, cheaply and
 * through real syscalls as the tenant's admin: a vault connection holding a real secret (which no
 * page may show), a memory fact, an agent with a mailbox, and a provisioned SQLite database.
 */
import type { DashboardTestEnv } from './testing.ts';

export const LAYER_SECRET = 'sk-live-LAYERS-never-show-me-5521';

export async function seedLayers(env: DashboardTestEnv): Promise<void> {
  const principal = await env.runtime.kernel.authenticate({ apiKey: env.adminKey });
  const call = (name: string, input: unknown) => env.runtime.kernel.call(name, input, { principal });
  await call('tools.vault.put', {
    name: 'payments-api',
    owner: 'tenant',
    kind: 'bearer',
    secret: LAYER_SECRET,
  });
  await call('memory.add', {
    scope: { agentId: 'scout' },
    text: 'The staging database is called orders-db.',
  });
  await env.runtime.kernel.principals.createAgent({ tenantId: env.tenantId, name: 'scout' });
  await call('mail.mailboxes.create', { agent: 'scout', address: 'scout@agents.test' });
  await call('billing.prices.set', { meter: 'sqlite.provisions', unitAmount: '0.01' });
  await call('billing.prices.set', { meter: 'sqlite.ready_seconds', unitAmount: '0.00001' });
  await call('provision.create', { kind: 'sqlite', name: 'scratch-db', labels: { team: 'shop' } });
}
