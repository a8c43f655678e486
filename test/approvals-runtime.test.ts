/**
 * ctx.approve in the real runtime (openRuntime, as `strata up` runs it) on SQLite and PostgreSQL:
 * a run waiting for approval survives closing and reopening the runtime on the same data, then
 * completes once approved through `approvals.decide`; escalations are reachable too.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { configSchema, type Principal } from '../src/kernel/index.ts';
import { defineWorkflow, waitForRun, type Approval } from '../src/orchestration/index.ts';
import { bootstrapDefaultTenant, openRuntime, type Runtime } from '../src/server/runtime.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';

const release = defineWorkflow(
  { name: 'release', version: 1, input: z.object({}), output: z.object({ approved: z.boolean() }) },
  async (ctx) => {
    const decision = await ctx.approve({ question: 'Ship it?', timeoutMs: 600_000 });
    return { approved: decision.approved };
  },
);

for (const dialect of ['sqlite', 'postgres'] as const) {
  void describe(`approvals in the runtime on ${dialect}`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'strata-approvals-'));
    let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
    let runtime: Runtime;
    let principal: Principal;
    const open = async (): Promise<Runtime> => {
      const config = configSchema.parse({ dataDir, databaseUrl: db?.url });
      const opened = await openRuntime({ config, worker: true });
      opened.engine.register(release);
      return opened;
    };
    before(async () => {
      db = dialect === 'postgres' ? await createTestDatabase() : undefined;
      runtime = await open();
      const boot = await bootstrapDefaultTenant(runtime);
      principal = await runtime.kernel.authenticate({ apiKey: boot.adminKey ?? '' });
    });
    after(async () => {
      await runtime.close();
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('waits across a runtime restart, then completes once approved', async () => {
      const run = await runtime.engine.start('release', {}, { principal });
      let pending: Approval[] = [];
      for (let i = 0; i < 400 && pending.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 25));
        pending = (
          await runtime.kernel.call<{ approvals: Approval[] }>(
            'approvals.list',
            { runId: run.id },
            { principal },
          )
        ).approvals;
      }
      assert.equal(pending.length, 1);
      await runtime.close();
      runtime = await open();
      const id = (pending[0] as Approval).id;
      await runtime.kernel.call(
        'approvals.decide',
        { id, decision: 'approve', reason: 'lgtm' },
        { principal },
      );
      const done = await waitForRun(runtime.engine, principal.tenantId, run.id, { timeoutMs: 20_000 });
      assert.deepEqual(done.output, { approved: true });
      const raised = await runtime.kernel.call<{ count: number }>(
        'escalations.raise',
        { key: 'k', severity: 'P2', title: 't' },
        { principal },
      );
      assert.equal(raised.count, 1);
    });
  });
}
