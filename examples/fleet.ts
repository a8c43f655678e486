import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './src/kernel/index.ts';
import { createScriptedProvider as scripted } from './src/models/index.ts';
import { defineAgent, defineSupervisor, eraseWorkflow, waitForRun } from './src/orchestration/index.ts';
import { bootstrapDefaultTenant, openRuntime } from './src/server/index.ts';

const spec = { instructions: 'Write one line.', model: 'demo/m', maxTokens: 250, maxTurns: 3 };
const writer = defineAgent({ name: 'writer', version: 1, ...spec });
const done = { restart: 'transient', significant: true } as const; // the team ends when all 10 are done
const children = [...Array(10).keys()].map((i) => ({
  id: `w${i}`,
  workflow: writer,
  input: { prompt: `${i}` },
}));
const strategy = { strategy: 'one_for_one', autoShutdown: 'all_significant' } as const; // restart one alone
const team = defineSupervisor({
  name: 'team',
  version: 1,
  ...strategy,
  children: children.map((c) => ({ ...c, ...done })),
});
const models = {
  providers: [{ name: 'demo', driver: 'scripted', models: ['m'] }],
  prices: { 'demo/m': { input: 0, output: 200 } },
};
const config = loadConfig({ overrides: { dataDir: mkdtempSync(join(tmpdir(), 'strata-')), models } }); // embedded SQLite
const demo = scripted({ script: () => ({ text: 'a line', usage: { inputTokens: 9, outputTokens: 100 } }) }); // a call holds 0.05 USD, costs 0.02
const runtime = await openRuntime({
  config,
  workflows: [eraseWorkflow(writer), eraseWorkflow(team)],
  worker: true,
  modelProviders: { demo },
});
const { tenantId, adminKey = '' } = await bootstrapDefaultTenant(runtime);
const principal = await runtime.kernel.authenticate({ apiKey: adminKey });
const call = <T>(name: string, input: unknown) => runtime.kernel.call<T>(name, input, { principal });
await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: '0.10' }); // too small for 10 calls
const run = await runtime.engine.start('team', {}, { principal });
let pause: { approvalId: string | null } | undefined; // writers past the budget pause, none fails...
while (!pause?.approvalId)
  [pause] = (await call<{ pauses: (typeof pause)[] }>('runs.budget_pauses.list', {})).pauses;
console.log('budget exhausted: the team is paused and one approval asks for a raise');
await call('approvals.decide', { id: pause.approvalId, decision: 'approve', value: { limit: '1.00' } }); // ...until a raise
console.log('team', (await waitForRun(runtime.engine, tenantId, run.id)).status);
const { budgets } = await call<{ budgets: { spent: string; limit: string }[] }>('billing.budgets.list', {});
console.log(`spent ${budgets[0]?.spent} of ${budgets[0]?.limit} USD`);
await runtime.close();
