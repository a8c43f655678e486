/**
 * @module orchestration/reliability/schema
 * The shape of `fleet.reliability` (the reliability report, issue 14 item 4). Other code reads it
 * (the demo's report, the dashboard's Reliability view, `strata fleet reliability --json`), so it
 * is kept stable: fields are only ever added. Rates are shares in 0..1 (null when nothing was
 * measured); times are milliseconds; costs are micro-units.
 *
 * ```
 * { tenantId, sinceMs, generatedAt,
 *   layers: [{ layer, syscalls, ok, failed, denied, throttled, faultsInjected, faultsByKind: {kind: n},
 *              faultedCalls, failedAfterFault,
 *              recovered: { retry, fallback, restart, takeover, human }, unrecovered, pending,
 *              unattributed, failedWithoutFault: {code: n}, successRaw, successWithStrata }],
 *   mechanisms: { retry, fallback, restart, takeover, human },   // sums over the layers
 *   endToEnd: { layersUsed, predictedRaw, perCallRaw, callsPerTask, predictedRawPerTask,
 *               measuredWithoutMechanisms, measuredWithMechanisms,
 *               tasks: { total, completed, failed, live } },
 *   timeToRecoverMs: { calls, runs, takeovers, all },            // each { p50, p95, max } | null
 *   recoveryCost: { retriedCalls, retriedCallsMs, restartedRuns, restartedRunsMs,
 *                   restartedRunsCostMicros, approximations: [..] },
 *   invariants: { budget, duplicatedSideEffects, auditChain, mainGreen, allHold },
 *   truncated }
 * ```
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();
const share = z.number().min(0).max(1).nullable();
const quantiles = z.object({ p50: z.number(), p95: z.number(), max: z.number() }).nullable();

export const mechanismsSchema = z.object({
  /** The pipeline's (or a run's own, or the run engine's) retry made the call or the run succeed. */
  retry: count,
  /** A model call answered by another target of its route after the first one failed. */
  fallback: count,
  /** A supervised child failed by a faulted call, replaced by a new incarnation. */
  restart: count,
  /** A run whose worker died, resumed by another worker (lease takeover). */
  takeover: count,
  /** A run paused on an exhausted budget, resumed once a person approved a raise. */
  human: count,
});

export const layerReliabilitySchema = z.object({
  layer: z.string(),
  syscalls: count,
  ok: count,
  failed: count,
  denied: count,
  /** Refused for capacity (E_RATE_LIMITED, no injected fault): back-pressure, left out of success. */
  throttled: count,
  /** Every mark in the audit log, latency included. */
  faultsInjected: count,
  faultsByKind: z.record(z.string(), count),
  /** Calls that met at least one failing fault (an error, an outage or a realised named fault). */
  faultedCalls: count,
  /** Faulted calls that ended in error (some are then recovered by the run: restart, retry). */
  failedAfterFault: count,
  recovered: mechanismsSchema,
  /** Faulted calls whose run failed and was not replaced. */
  unrecovered: count,
  /** Faulted calls whose run is still queued, waiting or running. */
  pending: count,
  /** Failed faulted calls no run's journal links to (calls made outside runs, or whose step was dropped). */
  unattributed: count,
  /** Failed calls with no fault marked on them, by error code: the other reasons a layer's calls fail. */
  failedWithoutFault: z.record(z.string(), count),
  /** Share of calls (denied and throttled ones left out) whose first attempt succeeded. */
  successRaw: share,
  /** Share of calls (denied and throttled ones left out) that ended ok. */
  successWithStrata: share,
});

const invariantBase = {
  /** False when the layer that holds the evidence was never opened on this store. */
  checked: z.boolean(),
  holds: z.boolean(),
  reason: z.string().optional(),
};

export const invariantsSchema = z.object({
  budget: z.object({
    ...invariantBase,
    /** Budget periods checked (hard and soft). */
    periods: count,
    /** Hard budget periods whose spent + held exceeds their funded limit. */
    exceeded: count,
    /** Soft budget periods over their limit (allowed by design, reported). */
    softOver: count,
  }),
  duplicatedSideEffects: z.object({
    ...invariantBase,
    /** Outbound mails checked. */
    checkedMails: count,
    /** Extra copies of an outbound mail with the same Message-ID from the same mailbox. */
    duplicates: count,
  }),
  auditChain: z.object({
    ...invariantBase,
    entries: count,
    headHash: z.string().nullable(),
  }),
  mainGreen: z.object({
    ...invariantBase,
    /** Moves of main made by the merge queue. */
    merges: count,
    /** Moves of main whose check is missing or did not pass. */
    notGreen: count,
  }),
  /** Every checked invariant holds. */
  allHold: z.boolean(),
});

export const reliabilityReportSchema = z.object({
  tenantId: z.string().nullable(),
  sinceMs: z.number().nullable(),
  generatedAt: z.number(),
  layers: z.array(layerReliabilitySchema),
  mechanisms: mechanismsSchema,
  endToEnd: z.object({
    /** The layers the compound rate runs over (the caller's, or every layer with calls). */
    layersUsed: z.array(z.string()),
    /** Product of the layers' successRaw: a task touching each layer once (0.97⁵ ≈ 0.86). */
    predictedRaw: share,
    /** successRaw over every call in the window. */
    perCallRaw: share,
    /** Syscalls a task makes (the caller's, or journaled syscall steps per root run). */
    callsPerTask: z.number().nonnegative().nullable(),
    /** perCallRaw ^ callsPerTask (0.97²⁵ ≈ 0.47). */
    predictedRawPerTask: share,
    /** Given by the caller (e.g. the demo's pass with mechanisms off); null otherwise. */
    measuredWithoutMechanisms: share,
    /** Root runs completed / root runs finished (completed, failed, cancelled) in the window. */
    measuredWithMechanisms: share,
    tasks: z.object({ total: count, completed: count, failed: count, live: count }),
  }),
  timeToRecoverMs: z.object({
    calls: quantiles,
    runs: quantiles,
    takeovers: quantiles,
    all: quantiles,
  }),
  recoveryCost: z.object({
    retriedCalls: count,
    retriedCallsMs: z.number().nonnegative(),
    restartedRuns: count,
    restartedRunsMs: z.number().nonnegative(),
    restartedRunsCostMicros: z.number().nonnegative(),
    approximations: z.array(z.string()),
  }),
  invariants: invariantsSchema,
  /** A bounded scan hit its limit: figures cover the newest rows only. */
  truncated: z.boolean(),
});

export type Mechanisms = z.infer<typeof mechanismsSchema>;
export type LayerReliability = z.infer<typeof layerReliabilitySchema>;
export type Invariants = z.infer<typeof invariantsSchema>;
export type ReliabilityReport = z.infer<typeof reliabilityReportSchema>;
export type Quantiles = z.infer<typeof quantiles>;

export const reliabilityInputSchema = z
  .object({
    /** Only the last this many milliseconds (default: all history). */
    sinceMs: z.number().int().positive().optional(),
    /** The layers a task uses, for the compound rate (default: every layer with calls). */
    layers: z.array(z.string().min(1).max(50)).min(1).max(50).optional(),
    /** Syscalls per task, for r^N (default: journaled syscall steps per root run). */
    callsPerTask: z.number().int().positive().max(100_000).optional(),
    /** End-to-end success measured with the mechanisms off (the demo's first pass). */
    measuredWithoutMechanisms: z.number().min(0).max(1).optional(),
  })
  .strict();
export type ReliabilityInput = z.infer<typeof reliabilityInputSchema>;
