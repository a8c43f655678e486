/**
 * @module orchestration/syscalls
 * The run API as syscalls — `runs.start`, `runs.get`, `runs.list`, `runs.signal`, `runs.cancel`,
 * `runs.retry`, `runs.journal`, and `runs.count` / `runs.bulk` (run-bulk-syscalls.ts) — so runs are
 * started and steered through the kernel pipeline like every other action: capability-checked,
 * audited, and reachable from HTTP, MCP, the CLI and from other runs (`ctx.syscall('runs.start', …)`).
 *
 * The tenant always comes from the caller's principal, never from the input, so a run of another
 * tenant is `E_NOT_FOUND`. `runs.start` makes the caller the run's principal: the run's own
 * syscalls are checked against the starter's grants, so starting a run never widens what the
 * starter can do. Resources: `runs/<workflow>` for a start, `runs/<runId>` for one run, `runs` (or
 * `runs/<workflow>` when filtered by workflow) for a listing.
 *
 * The calls that change a run (start, signal, cancel, retry) name it for their audit entry
 * (`auditRun`), so the run's audit lists who started and steered it; reads do not, or every view
 * of a run would flood its audit.
 */
import { z } from 'zod';
import { defineSyscall, erase, type AuditRun, type SyscallDefinition } from '../kernel/syscalls/define.ts';
import type { Engine } from './engine.ts';
import { runBulkSyscalls } from './run-bulk-syscalls.ts';
import { checkWindow, runFilterSchema } from './run-query.ts';
import { runSchema, timelineEntrySchema, toTimelineEntry } from './timeline.ts';

const runId = z.string().min(1).max(100);
const byId = z.object({ runId }).strict();
const DAY_MS = 24 * 3600 * 1000;
/** The run a call names, with its root once the call has returned it. */
const actsOn = (input: { runId: string }, run?: { rootId: string }): AuditRun => ({
  runId: input.runId,
  rootRunId: run?.rootId,
});

export function runSyscalls(engine: Engine): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'runs.start',
        description:
          'Starts a durable run of a registered workflow as the caller; with an idempotency key, a repeated start returns the first run.',
        input: z
          .object({
            workflow: z.string().min(1).max(200),
            input: z.unknown(),
            version: z.number().int().positive().optional(),
            idempotencyKey: z.string().min(1).max(200).optional(),
            priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
            queue: z.string().min(1).max(100).optional(),
            delayMs: z
              .number()
              .int()
              .nonnegative()
              .max(366 * DAY_MS)
              .optional(),
            project: z
              .string()
              .min(1)
              .max(100)
              .optional()
              .describe('cost-per-task label of the run tree; child runs inherit it'),
          })
          .strict(),
        output: runSchema,
        // Static class: a start without a key repeats its effect. The pipeline still retries it
        // when the caller sends an Idempotency-Key, which then also keys the run (below).
        idempotency: 'unsafe',
        resource: (input) => `runs/${input.workflow}`,
        auditRun: (_input, run) => run && { runId: run.id, rootRunId: run.rootId },
        handler: (input, ctx) =>
          engine.start(input.workflow, input.input, {
            principal: ctx.principal,
            version: input.version,
            // A transport-level key (HTTP Idempotency-Key, or `<runId>:<seq>` when a run starts a
            // run) makes the start itself idempotent: a retried or replayed call finds the same run.
            idempotencyKey: input.idempotencyKey ?? ctx.idempotencyKey,
            priority: input.priority,
            queue: input.queue,
            delayMs: input.delayMs,
            project: input.project,
          }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'runs.get',
        description: 'Returns one run of the caller’s tenant: status, output or error, attempts, cost.',
        input: byId,
        output: runSchema,
        idempotency: 'pure',
        resource: (input) => `runs/${input.runId}`,
        handler: (input, ctx) => engine.get(ctx.tenantId, input.runId),
      }),
    ),
    erase(
      defineSyscall({
        name: 'runs.list',
        description:
          'Lists the caller tenant’s runs matching a filter (status, workflow, parent, tree, supervisor, agent, error code, time, cost, search), newest first; `next` is the cursor for the next page.',
        input: runFilterSchema
          .extend({ limit: z.number().int().min(1).max(1000).default(50), after: runId.optional() })
          .superRefine(checkWindow),
        output: z.object({ runs: z.array(runSchema), next: z.string().optional() }),
        idempotency: 'pure',
        resource: (input) => (input.workflow === undefined ? 'runs' : `runs/${input.workflow}`),
        handler: async (input, ctx) => {
          const runs = await engine.list(ctx.tenantId, input);
          const last = runs.at(-1);
          return runs.length === input.limit && last ? { runs, next: last.id } : { runs };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'runs.signal',
        description:
          'Sends a named signal with a payload to a run (`ctx.waitFor(name)`); a finished run refuses it with E_CONFLICT.',
        input: z
          .object({ runId, name: z.string().min(1).max(200), payload: z.unknown().optional() })
          .strict(),
        output: runSchema,
        idempotency: 'unsafe', // a repeated signal is a second signal
        resource: (input) => `runs/${input.runId}`,
        auditRun: actsOn,
        handler: async (input, ctx) => {
          await engine.signal(ctx.tenantId, input.runId, input.name, input.payload ?? null);
          return engine.get(ctx.tenantId, input.runId);
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'runs.cancel',
        description:
          'Cancels a run and all its descendants; a running one stops at its next step. E_CONFLICT if already finished.',
        input: byId,
        output: runSchema,
        idempotency: 'unsafe',
        resource: (input) => `runs/${input.runId}`,
        auditRun: actsOn,
        handler: (input, ctx) => engine.cancel(ctx.tenantId, input.runId),
      }),
    ),
    erase(
      defineSyscall({
        name: 'runs.retry',
        description:
          'Re-queues a failed or cancelled run; it resumes from its journal, so completed steps are not repeated.',
        input: byId,
        output: runSchema,
        idempotency: 'unsafe',
        resource: (input) => `runs/${input.runId}`,
        auditRun: actsOn,
        handler: (input, ctx) => engine.retry(ctx.tenantId, input.runId),
      }),
    ),
    erase(
      defineSyscall({
        name: 'runs.journal',
        description:
          'Returns a run and its timeline: every step, syscall, timer, signal and child, with outputs, errors and durations.',
        input: byId,
        output: z.object({ run: runSchema, entries: z.array(timelineEntrySchema) }),
        idempotency: 'pure',
        resource: (input) => `runs/${input.runId}`,
        handler: async (input, ctx) => {
          // The run first: if it is already terminal, the journal read after it is complete.
          const run = await engine.get(ctx.tenantId, input.runId);
          const rows = await engine.journal(ctx.tenantId, input.runId);
          return { run, entries: rows.map(toTimelineEntry) };
        },
      }),
    ),
    ...runBulkSyscalls(engine),
  ];
}
