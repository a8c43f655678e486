/**
 * Glossary
 * - **Problem**: an item that waits on a person ("needs you"): a pending approval, a budget pause,
 *   a stalled run, a supervisor that gave up or whose mass-death breaker opened, an open
 *   escalation, a rejected or needs_rework merge-queue change, a stopped merge queue, a run parked
 *   `version_unavailable`, a driver this server runs that is not healthy (kernel/health.ts).
 * - **Action**: the syscall (and its input) that acts on the item; the CLI and the dashboard call
 *   it as is, so every action is capability-checked and audited like any other call.
 * - **One item per thing to do**: a budget pause also opens an approval and an escalation, a stall
 *   and a supervisor event an escalation, an approval's timeout one too; those are folded into the
 *   item they belong to instead of being listed twice or three times.
 */
import { z } from 'zod';

export const PROBLEM_KINDS = [
  'approval',
  'budget_pause',
  'stalled_run',
  'supervisor',
  'escalation',
  'merge_change',
  'merge_queue_stopped',
  'version_unavailable',
  'driver',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export const problemSchema = z.object({
  kind: z.enum(PROBLEM_KINDS),
  /** The id of the thing to act on (approval, pause, escalation, entry, queue or run id). */
  id: z.string(),
  reason: z.string(),
  /** When it started waiting (ms since the epoch) and how long ago that was. */
  since: z.number(),
  ageMs: z.number(),
  action: z.object({ syscall: z.string(), input: z.record(z.string(), z.unknown()) }),
  runId: z.string().optional(),
  severity: z.enum(['P0', 'P1', 'P2']).optional(),
  /** Approvals: time left before the timeout escalates (or decides) it; 0 once past; null without one. */
  timeLeftMs: z.number().nullable().optional(),
  /** Drivers: the layer whose page shows it, and how bad it is. */
  driver: z.object({ layer: z.string(), status: z.enum(['degraded', 'unhealthy']) }).optional(),
});
export type Problem = z.infer<typeof problemSchema>;

export const problemsSchema = z.object({
  count: z.number().int().nonnegative(),
  items: z.array(problemSchema),
  /** Kinds that had more items than the per-kind limit (the list shows the first `limit`). */
  truncated: z.array(z.enum(PROBLEM_KINDS)),
});
export type Problems = z.infer<typeof problemsSchema>;
