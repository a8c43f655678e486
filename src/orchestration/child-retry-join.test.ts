// A join on a child whose run is retried (attempts > 1, failing every time) sees only the child's
// final outcome, even in a workflow that catches everything its join throws. Found in the demo: a
// parent that caught the join's Suspension went on and journaled `runs.get` (child `queued` or
// `running`) after it; replayed once the child had failed for good, the join threw "child run …
// failed" and the next step returned the stale `running`, or the code took another branch than the
// journal held (E_NONDETERMINISM "the journal holds sleep but the code asked for syscall").
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { isStrataError, StrataError } from '../kernel/index.ts';
import { onEveryStore } from '../testkit/stores.ts';
import type { WorkflowContext } from './context.ts';
import { defineWorkflow } from './define.ts';
import { TERMINAL, type Run } from './run-row.ts';
import { runSyscalls } from './syscalls.ts';
import { harness } from './testing.ts';

const ATTEMPTS = 6;

const alwaysFails = defineWorkflow(
  {
    name: 'always-fails',
    version: 1,
    input: z.object({}),
    output: z.null(),
    retry: { attempts: ATTEMPTS, baseDelayMs: 5, maxDelayMs: 20 },
  },
  async (ctx) => {
    await ctx.step('work', () => 1);
    throw new StrataError('E_AGENT_MAX_TURNS', 'looped');
  },
);

const seenSchema = z.object({ joined: z.string(), status: z.string(), attempt: z.number() });
type Seen = z.infer<typeof seenSchema>;
const messageOf = (caught: unknown): string => (caught instanceof Error ? caught.message : String(caught));

/** A parent that joins the child, catching whatever the join throws, and goes on with `then`. */
const catchingParent = (
  name: string,
  then: (ctx: WorkflowContext, caught: unknown, childId: string) => Promise<Seen>,
) =>
  defineWorkflow({ name, version: 1, input: z.object({}), output: seenSchema }, async (ctx) => {
    const child = await ctx.startChild(alwaysFails, {});
    let caught: unknown = 'completed';
    try {
      await child.result();
    } catch (error) {
      caught = error;
    }
    return then(ctx, caught, child.runId);
  });

/** Reads the child (and sleeps while it looks unfinished). */
const catchesAll = catchingParent('catches-all', async (ctx, caught, runId) => {
  const seen = await ctx.syscall<Run>('runs.get', { runId });
  if (!TERMINAL.has(seen.status)) await ctx.sleep(1_000);
  return { joined: messageOf(caught), status: seen.status, attempt: seen.attempt };
});

/** Branches on what the join threw: a StrataError goes on, anything else sleeps first. */
const branchesOnError = catchingParent('branches-on-error', async (ctx, caught, runId) => {
  if (!isStrataError(caught)) await ctx.sleep(1_000);
  const seen = await ctx.syscall<Run>('runs.get', { runId });
  return { joined: messageOf(caught), status: seen.status, attempt: seen.attempt };
});

/** Returns what the join threw, without reading the child. */
const returnsWhatItCaught = catchingParent('returns-what-it-caught', (_ctx, caught) =>
  Promise.resolve({ joined: messageOf(caught), status: 'unread', attempt: 0 }),
);

onEveryStore('a join on a child whose run is retried', (db) => {
  it('sees the child failed only once its last attempt failed, however the workflow catches', async () => {
    const h = await harness(db());
    for (const def of [alwaysFails, catchesAll, branchesOnError, returnsWhatItCaught]) h.engine.register(def);
    for (const def of runSyscalls(h.engine)) h.kernel.register(def);
    try {
      await h.worker();
      const parents = [];
      for (let i = 0; i < 4; i++)
        for (const workflow of ['catches-all', 'branches-on-error', 'returns-what-it-caught'])
          parents.push(await h.engine.start(workflow, {}, { principal: h.principal }));
      const outcomes = [];
      for (const parent of parents) {
        const done = await h.waitFor(parent.id, ['completed', 'failed'], 30_000);
        const seen = seenSchema.safeParse(done.output);
        outcomes.push({
          workflow: done.workflow,
          error: done.error?.code ?? null,
          joined: seen.data?.joined.replace(/run_\w+/, 'run_…') ?? null,
          child: seen.data ? `${seen.data.status} at attempt ${seen.data.attempt}` : null,
        });
      }
      const expected = (workflow: string) => ({
        workflow,
        error: null,
        joined: 'child run run_… failed: looped',
        child:
          workflow === 'returns-what-it-caught' ? 'unread at attempt 0' : `failed at attempt ${ATTEMPTS}`,
      });
      assert.deepEqual(
        outcomes,
        parents.map((p) => expected(p.workflow)),
      );
    } finally {
      await h.close();
    }
  });
});
