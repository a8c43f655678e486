/**
 * A priced tool's price is reserved against the caller's budgets before the tool runs, as a model
 * call's estimate is: five concurrent calls of a $0.40 tool under a $1.00 budget run two, refuse
 * the rest with E_BUDGET_EXCEEDED before they start, and the budget is never overspent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { configSchema } from '../src/kernel/index.ts';
import { openRuntime, type Runtime } from '../src/server/runtime.ts';

describe('priced tool calls against a budget', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-tool-budget-'));
  let runtime: Runtime | undefined;
  after(async () => {
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reserves the price before the call: concurrent calls never overspend', async () => {
    runtime = await openRuntime({ config: configSchema.parse({ dataDir }) });
    let started = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    runtime.tools.register({
      name: 'paid.lookup',
      description: 'a priced lookup that waits until the test lets it answer',
      source: 'native',
      inputSchema: { type: 'object' },
      costMicros: 400_000,
      invoke: async () => {
        started++;
        await gate;
        return { content: [{ type: 'text', text: 'found' }] };
      },
    });
    const tenant = await runtime.kernel.principals.createTenant('acme');
    const { key } = await runtime.kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'admin',
      grants: [{ syscall: '*', resource: '*' }],
    });
    const principal = await runtime.kernel.authenticate({ apiKey: key });
    const call = <T>(name: string, input: unknown): Promise<T> =>
      (runtime as Runtime).kernel.call<T>(name, input, { principal });
    await call('billing.prices.set', { meter: 'syscall.cost', unitAmount: '1' });
    const budget = await call<{ id: string }>('billing.budgets.set', {
      scope: 'tenant',
      period: 'month',
      limit: '1.00',
    });

    const calls = Array.from({ length: 5 }, () =>
      call<{ costMicros: number }>('tools.call', { tool: 'paid.lookup' }).then(
        (out) => ({ ok: true as const, cost: out.costMicros }),
        (error: { code?: string }) => ({ ok: false as const, code: error.code }),
      ),
    );
    // The refused calls settle at once; the two that reserved wait at the gate.
    const deadline = Date.now() + 5_000;
    while (started < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    const startedBeforeRelease = started;
    release();
    assert.equal(startedBeforeRelease, 2, 'only the calls the budget could hold were started');
    const outcomes = await Promise.all(calls);
    assert.deepEqual(
      outcomes.filter((o) => o.ok).map((o) => o.cost),
      [400_000, 400_000],
    );
    assert.deepEqual(
      outcomes.filter((o) => !o.ok).map((o) => o.code),
      ['E_BUDGET_EXCEEDED', 'E_BUDGET_EXCEEDED', 'E_BUDGET_EXCEEDED'],
    );
    const status = await call<{ spent: string; available: string }>('billing.budgets.get', { id: budget.id });
    assert.equal(status.spent, '0.80');
    assert.equal(status.available, '0.20');
  });
});
