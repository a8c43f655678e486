/**
 * @module orchestration/supervision/syscalls
 * Fleets as syscalls: `fleet.tree` (one supervision tree, or the tenant's root supervisors),
 * `fleet.supervisor.start_child` (a dynamic child for a simple_one_for_one supervisor) and
 * `fleet.fence` (is this run still its child's current incarnation? else E_STALE_INCARNATION),
 * `fleet.report` (the fleet counters, see fleet-report.ts), `fleet.reliability` (reliability/),
 * `fleet.problems` (what waits on a person,
 * problems/), `fleet.snapshot` (the fleet now, fleet-snapshot/) and `fleet.task.*` (the task board,
 * tasks/).
 * Tenant-scoped like `runs.*`: the tenant comes from the caller's principal.
 */
import { z } from 'zod';
import { StrataError } from '../../kernel/index.ts';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { Engine } from '../engine.ts';
import { fleetReportSyscall } from '../fleet-report-syscall.ts';
import { fleetSnapshotSyscall } from '../fleet-snapshot/syscall.ts';
import { driversSyscall } from '../problems/drivers.ts';
import { problemsSyscall } from '../problems/syscall.ts';
import { reliabilitySyscall } from '../reliability/syscall.ts';
import { taskSyscalls } from '../tasks/syscalls.ts';
import { runStatusSchema } from '../timeline.ts';
import { isChildId, START_CHILD_SIGNAL } from './spec.ts';
import { supervisorSpec } from './supervisor.ts';
import { assertCurrentIncarnation, fleetTree, type TreeNode } from './tree.ts';

const runId = z.string().min(1).max(100);

const treeNodeSchema: z.ZodType<TreeNode> = z.lazy(() =>
  z.object({
    runId: z.string(),
    workflow: z.string(),
    status: runStatusSchema,
    strategy: z.string().optional(),
    childId: z.string().optional(),
    incarnation: z.number().optional(),
    restarts: z.number().optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    children: z.array(treeNodeSchema),
  }),
);

/** Root supervisors of a tenant that are not finished, newest first. */
async function rootTrees(engine: Engine, tenantId: string): Promise<TreeNode[]> {
  const rows = await engine.store.all<{ id: string; workflow: string; version: number }>(
    `SELECT id, workflow, version FROM orch_runs WHERE tenant_id = ? AND parent_id IS NULL
       AND status NOT IN ('completed', 'failed', 'cancelled') ORDER BY id DESC LIMIT 1000`,
    [tenantId],
  );
  const roots = rows.filter((r) => supervisorSpec(r.workflow, r.version)).slice(0, 50);
  return Promise.all(roots.map((r) => fleetTree(engine, tenantId, r.id)));
}

export function fleetSyscalls(engine: Engine): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'fleet.tree',
        description:
          'A supervision tree: supervisor, children, status, incarnation and restarts; without runId, the running root supervisors.',
        input: z.object({ runId: runId.optional() }).strict(),
        output: z.object({ trees: z.array(treeNodeSchema) }),
        idempotency: 'pure',
        resource: (input) => (input.runId === undefined ? 'runs' : `runs/${input.runId}`),
        handler: async (input, ctx) => ({
          trees:
            input.runId === undefined
              ? await rootTrees(engine, ctx.tenantId)
              : [await fleetTree(engine, ctx.tenantId, input.runId)],
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'fleet.supervisor.start_child',
        description:
          'Adds a dynamic child to a running simple_one_for_one supervisor (input checked by its workflow).',
        input: z
          .object({
            runId,
            id: z.string().refine(isChildId, 'invalid child id').optional(),
            input: z.unknown(),
          })
          .strict(),
        output: z.object({ runId: z.string() }),
        idempotency: 'unsafe',
        resource: (input) => `runs/${input.runId}`,
        handler: async (input, ctx) => {
          const run = await engine.get(ctx.tenantId, input.runId);
          const spec = supervisorSpec(run.workflow, run.version);
          if (spec?.strategy !== 'simple_one_for_one' || !spec.childSpec)
            throw new StrataError(
              'E_INVALID_INPUT',
              `run ${input.runId} is not a simple_one_for_one supervisor`,
            );
          const checked = engine.workflows.get(spec.childSpec.workflow.name, spec.childSpec.workflow.version);
          const parsed = checked.input.safeParse(input.input);
          if (!parsed.success)
            throw new StrataError('E_INVALID_INPUT', `invalid input for child workflow ${checked.name}`, {
              issues: parsed.error.issues
                .slice(0, 20)
                .map((i) => ({ path: i.path.join('.'), message: i.message })),
            });
          await engine.signal(ctx.tenantId, input.runId, START_CHILD_SIGNAL, {
            ...(input.id === undefined ? {} : { id: input.id }),
            input: input.input,
          });
          return { runId: input.runId };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'fleet.fence',
        description:
          'Checks that a supervised run is still its child’s current incarnation; E_STALE_INCARNATION if a restart replaced it.',
        input: z.object({ runId }).strict(),
        output: z.object({ supervisorRunId: z.string(), childId: z.string(), incarnation: z.number() }),
        idempotency: 'pure',
        resource: (input) => `runs/${input.runId}`,
        handler: (input, ctx) => assertCurrentIncarnation(engine, ctx.tenantId, input.runId),
      }),
    ),
    fleetReportSyscall(engine),
    reliabilitySyscall(engine), // fleet.reliability: faults, recoveries, invariants (reliability/)
    problemsSyscall(engine), // the needs-you list
    driversSyscall(engine), // fleet.drivers: every driver's health reading
    fleetSnapshotSyscall(engine), // the fleet now: fleet top, the dashboard's Fleet view
    ...taskSyscalls(engine),
  ];
}
