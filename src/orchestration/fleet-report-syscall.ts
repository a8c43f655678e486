/**
 * @module orchestration/fleet-report-syscall
 * `fleet.report`: the fleet counters of the caller's tenant (see {@link fleetReport}), optionally
 * only the activity of the last `sinceMs` milliseconds. Read-only and tenant-scoped like `runs.*`.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../kernel/syscalls/define.ts';
import type { Engine } from './engine.ts';
import { fleetReport } from './fleet-report.ts';

const count = z.number().int().nonnegative();
const ms = z.number().nullable();
const quantiles = z.object({ p50: z.number(), p95: z.number(), max: z.number() });

export const fleetReportSchema = z.object({
  tenantId: z.string().nullable(),
  sinceMs: z.number().nullable(),
  generatedAt: z.number(),
  syscalls: z.array(
    z.object({ layer: z.string(), ok: count, failed: count, denied: count, throttled: count }),
  ),
  restarts: z.object({
    total: count,
    bySupervisor: z.array(z.object({ supervisorRunId: z.string(), workflow: z.string(), restarts: count })),
  }),
  stalls: count,
  deaths: z.object({
    detected: count,
    selfReclaimed: count,
    detectionLatencyMs: quantiles.nullable(),
    heartbeatToResumeMs: quantiles.nullable(),
  }),
  duplicateWork: z.object({ total: count, definition: z.string() }),
  escalations: z.object({ total: count, open: count, acked: count, medianTimeToAckMs: ms }),
  approvals: z.object({
    total: count,
    pending: count,
    decided: count,
    timedOut: count,
    medianTimeToDecisionMs: ms,
  }),
  tasks: z.object({
    completed: count,
    costMicros: z.number(),
    costPerCompletedTaskMicros: ms,
    reason: z.string().optional(),
  }),
});

export function fleetReportSyscall(engine: Engine): SyscallDefinition<unknown, unknown> {
  return erase(
    defineSyscall({
      name: 'fleet.report',
      description:
        'Fleet counters of the tenant: syscalls per layer, restarts, stalls, deaths and detection latency, duplicate work, escalations, approvals, cost per completed task.',
      input: z.object({ sinceMs: z.number().int().positive().optional() }).strict(),
      output: fleetReportSchema,
      idempotency: 'pure',
      resource: () => 'runs',
      handler: (input, ctx) => {
        const now = ctx.clock.now();
        return fleetReport(engine.store, ctx.tenantId, {
          now,
          ...(input.sinceMs === undefined ? {} : { sinceMs: now - input.sinceMs }),
        });
      },
    }),
  );
}
