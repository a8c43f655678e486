/**
 * @module orchestration/fleet-snapshot/types
 * What `fleet.snapshot` returns: the state of a tenant's fleet right now, for `strata fleet top`
 * and the dashboard's Fleet view, which redraw it every few seconds. Every figure is one bounded
 * query (see snapshot.ts), so it is cheap enough to ask for that often.
 *
 * Glossary
 * - **Agent**: a supervised child run (its idempotency key is `sup:<supervisor>:<n>:<child>`, see
 *   supervision/spec.ts); only live ones (queued, running, waiting, parked) are counted.
 * - **Attention**: live runs (any, not only agents) stalled or paused on an exhausted budget.
 * - **Worker**: a process claiming runs; known from its deployment rows (deployments.ts), which it
 *   refreshes every 10 s and withdraws when it stops, and from the leases it holds on runs.
 * - **Expired lease**: a running run whose lease ran out: its worker stopped heartbeating and the
 *   run waits for another worker to take it over (takeovers.ts).
 * - **Burn**: what the tenant's usage accounts were charged in the last minute.
 */
import { z } from 'zod';
import { runStatusSchema } from '../timeline.ts';

const count = z.number().int().nonnegative();

export const SNAPSHOT_WINDOW_MS = 60_000;
/** A worker whose deployment rows are older than this is gone (the worker's default TTL). */
export const WORKER_LIVE_MS = 30_000;
export const TOP_QUEUES = 20;
export const TOP_WORKERS = 50;
export const TOP_BUDGETS = 20;

export const fleetSnapshotSchema = z.object({
  tenantId: z.string(),
  generatedAt: z.number(),
  runs: z.object({
    /** Every status, 0 when none. */
    byStatus: z.record(runStatusSchema, count),
    total: count,
  }),
  throughput: z.object({
    windowMs: z.number(),
    completed: count,
    failed: count,
    completedPerSec: z.number(),
    failedPerSec: z.number(),
    /** One bucket per second of the window, oldest first (`at` is the second's start, epoch ms). */
    perSecond: z.array(z.object({ at: z.number(), completed: count, failed: count })),
  }),
  agents: z.object({
    byState: z.object({ queued: count, running: count, waiting: count, version_unavailable: count }),
    total: count,
  }),
  attention: z.object({
    stalled: count,
    budgetPaused: count,
    /** A count reached its limit: there are at least that many. */
    truncated: z.boolean(),
  }),
  queues: z.object({
    queued: count,
    /** Queued runs per workflow, deepest first, at most 20. */
    byWorkflow: z.array(z.object({ workflow: z.string(), queued: count, oldestAt: z.number() })),
  }),
  workers: z.object({
    live: count,
    leases: count,
    expiredLeases: count,
    /** Runs taken over from a worker that stopped heartbeating, in the window. */
    takeovers: count,
    list: z.array(
      z.object({
        id: z.string(),
        live: z.boolean(),
        /** Its deployment rows' last refresh; null when it holds leases but has no row left. */
        seenAt: z.number().nullable(),
        leases: count,
        expiredLeases: count,
        /** The soonest expiry among its leases. */
        nextExpiryAt: z.number().nullable(),
      }),
    ),
  }),
  /** Null where the billing layer was never opened on this store. */
  cost: z
    .object({
      burn: z.array(z.object({ currency: z.string(), lastMinute: z.string(), lastMinuteMicros: z.number() })),
      budgets: z.array(
        z.object({
          id: z.string(),
          scope: z.string(),
          subject: z.string(),
          period: z.string(),
          mode: z.string(),
          currency: z.string(),
          limit: z.string(),
          spent: z.string(),
          held: z.string(),
          /** spent / limit, in percent; null for a zero limit. */
          usedPct: z.number().nullable(),
        }),
      ),
      /** Budgets left out (run and tree budgets are never listed: one per agent run). */
      omitted: count,
    })
    .nullable(),
  /** Fault injection (`chaos.status`); absent where the caller may not read it or there is none. */
  chaos: z.object({ enabled: z.boolean() }).optional(),
});

export type FleetSnapshot = z.infer<typeof fleetSnapshotSchema>;
