// An agent's own budget (defineAgent({ budget })) in the real runtime on the embedded default: the
// run sets a lifetime `run` budget as its first journaled call; a model call whose worst case does
// not fit pauses the run (it does not fail), one approval raises it, and the call is then made once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../src/kernel/index.ts';
import { createScriptedProvider } from '../src/models/index.ts';
import { defineAgent, eraseWorkflow, waitForRun } from '../src/orchestration/index.ts';
import { bootstrapDefaultTenant, openRuntime, type Runtime } from '../src/server/index.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'strata-agent-budget-'));
let runtime: Runtime | undefined;
after(async () => {
  await runtime?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('an agent over its own budget pauses; an approved raise lets its call through, made once', async () => {
  const frugal = defineAgent({
    name: 'frugal',
    version: 1,
    instructions: 'Answer briefly.',
    model: 'demo/m',
    maxTokens: 250, // worst case 250 × 200 USD per million = 0.05
    maxTurns: 2,
    budget: '0.01',
  });
  let calls = 0;
  const demo = createScriptedProvider({
    script: () => {
      calls++;
      return { text: 'done', usage: { inputTokens: 5, outputTokens: 100 } }; // costs 0.02
    },
  });
  const models = {
    providers: [{ name: 'demo', driver: 'scripted', models: ['m'] }],
    prices: { 'demo/m': { input: 0, output: 200 } },
  };
  runtime = await openRuntime({
    config: loadConfig({ overrides: { dataDir, models } }),
    workflows: [eraseWorkflow(frugal)],
    worker: true,
    modelProviders: { demo },
  });
  const { tenantId, adminKey = '' } = await bootstrapDefaultTenant(runtime);
  const principal = await runtime.kernel.authenticate({ apiKey: adminKey });
  const call = <T>(name: string, input: unknown) => runtime!.kernel.call<T>(name, input, { principal });
  const run = await runtime.engine.start('frugal', { prompt: 'hi' }, { principal });
  type Pause = { approvalId: string | null; budget: { scope: string; subject: string }; runs: number };
  let pause: Pause | undefined;
  const deadline = Date.now() + 20_000;
  while (!pause?.approvalId && Date.now() < deadline) {
    [pause] = (await call<{ pauses: Pause[] }>('runs.budget_pauses.list', {})).pauses;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(pause?.approvalId, 'the run paused on its budget with an approval');
  assert.deepEqual([pause.budget.scope, pause.budget.subject, pause.runs], ['run', run.id, 1]);
  assert.equal(calls, 0, 'no model call was made past the budget');
  assert.equal((await runtime.engine.get(tenantId, run.id)).status, 'waiting', 'paused, not failed');
  await call('approvals.decide', { id: pause.approvalId, decision: 'approve', value: { limit: '0.10' } });
  const done = await waitForRun(runtime.engine, tenantId, run.id, { timeoutMs: 20_000 });
  assert.equal(done.status, 'completed', JSON.stringify(done.error));
  assert.equal(calls, 1, 'the call was made once after the raise');
  const { budgets } = await call<{
    budgets: { scope: string; subject: string; limit: string; spent: string }[];
  }>('billing.budgets.list', {});
  const own = budgets.find((b) => b.scope === 'run' && b.subject === run.id);
  assert.deepEqual([own?.limit, own?.spent], ['0.10', '0.02']);
});
