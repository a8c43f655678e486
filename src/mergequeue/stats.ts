/**
 * @module mergequeue/stats
 * A queue's figures for people and dashboards: entries per state, the head-of-line blocker and
 * why, checks per merged change, flake retries, bisections and their depth, culprits with the check
 * that named them, queue time p50/p95, and check time per author (cost per task: sandbox time is
 * attributed to the entries of each check in equal shares).
 *
 * Every figure but the live window and batch size is computed from the stored checks and entries,
 * so `mq.stats` reads the same after a restart ({@link checkFigures}).
 */
import { QueueEngine } from './engine.ts';
import type { MergeQueues } from './service.ts';
import type { CheckRow } from './rows.ts';
import type { StopInfo } from './store.ts';
import { percentile } from './simulate.ts';

export interface QueueStats {
  readonly queue: string;
  readonly paused: boolean;
  readonly target: string;
  readonly mainCommit: string;
  readonly mainVersion: number;
  readonly counts: Record<string, number>;
  readonly checks: number;
  readonly checksPerMerge: number | null;
  /** Check time in sandboxes, attributed to entries (and so to authors) in equal shares. */
  readonly checkMs: number;
  readonly flakes: number;
  readonly retries: number;
  readonly bisections: number;
  readonly maxBisectionDepth: number;
  readonly culprits: { entry: string; check: string | null }[];
  /** Whether this process runs the queue's worker: the window, batch size and head of line are its. */
  readonly running: boolean;
  /** The live worker's speculation window and next batch size (they restart with the worker). */
  readonly window: number;
  readonly batchTarget: number;
  readonly headOfLine: { entries: readonly string[]; why: string } | null;
  readonly queueTimeMs: { p50: number; p95: number };
  readonly byAuthor: { author: string; merged: number; checkMs: number }[];
  /** Why the worker stopped, if it did. */
  readonly failure: string | null;
  /** The stop with its code and time; the queue runs again only when a person resumes it. */
  readonly stopped: StopInfo | null;
}

export async function queueStats(queues: MergeQueues, tenantId: string, queue: string): Promise<QueueStats> {
  const row = await queues.rows.queue(tenantId, queue);
  const entries = await queues.rows.entries(tenantId, queue);
  const checks = await queues.rows.checks(tenantId, queue);
  const stopped = await queues.halted(tenantId, queue);
  // Reading must not open a worker (that would take the queue's fencing token, maybe from another
  // process that runs it): without a worker running here, a fresh engine's live figures.
  const worker = stopped ? undefined : await queues.runningWorker(tenantId, queue);
  const engineOf = worker?.engine ?? new QueueEngine({ batch: row.batch });
  const engine = engineOf.stats();
  const counts: Record<string, number> = {};
  for (const e of entries) counts[e.state] = (counts[e.state] ?? 0) + 1;
  const merged = entries.filter((e) => e.state === 'merged');
  const waits = entries
    .filter((e) => e.finishedAt !== null)
    .map((e) => (e.finishedAt as number) - e.createdAt);
  const authors = new Map<string, { author: string; merged: number; checkMs: number }>();
  for (const e of entries) {
    const a = authors.get(e.author) ?? { author: e.author, merged: 0, checkMs: 0 };
    a.merged += e.state === 'merged' ? 1 : 0;
    a.checkMs += e.checkMs;
    authors.set(e.author, a);
  }
  return {
    queue,
    paused: row.paused,
    target: row.target,
    mainCommit: row.mainCommit,
    mainVersion: row.mainVersion,
    counts,
    checks: checks.length,
    checksPerMerge: merged.length === 0 ? null : Number((checks.length / merged.length).toFixed(3)),
    checkMs: checks.reduce((n, c) => n + (c.durationMs ?? 0), 0),
    ...checkFigures(checks),
    culprits: entries
      .filter((e) => e.state === 'rejected')
      .map((e) => ({ entry: e.id, check: e.failedCheck })),
    running: worker !== undefined,
    window: engine.window,
    batchTarget: engine.batchTarget,
    headOfLine: engineOf.headOfLine(),
    queueTimeMs: { p50: percentile(waits, 50), p95: percentile(waits, 95) },
    byAuthor: [...authors.values()],
    failure: stopped?.reason ?? null,
    stopped,
  };
}

/** The part of a stored check the figures need, in the order the checks started. */
export type StoredCheck = Pick<CheckRow, 'purpose' | 'tree' | 'version' | 'outcome'>;

export interface CheckFigures {
  /** Failures run again on the same tree (a batch at the head, or a bisection probe). */
  readonly retries: number;
  /** Retries that passed: the first failure was a flake. */
  readonly flakes: number;
  /** Confirmed failures of a batch at the head, each bisected (a batch of one needs no probe). */
  readonly bisections: number;
  /** Most probes one bisection needed (its levels). */
  readonly maxBisectionDepth: number;
}

/**
 * Flake retries and bisections from the stored checks alone. A head batch's retry that fails
 * starts a bisection on the same main version; its probes are the later `bisect` checks on that
 * version whose tree lies within the failed batch (a probe belongs to the latest such failure:
 * an entry is in one bisection at a time).
 */
export function checkFigures(checks: readonly StoredCheck[]): CheckFigures {
  const retries = checks.filter((c) => c.purpose === 'retry' || c.purpose === 'bisect-retry');
  const failed: { version: number; tree: ReadonlySet<string>; depth: number }[] = [];
  for (const check of checks) {
    if (check.purpose === 'retry' && check.outcome === 'fail') {
      failed.push({ version: check.version, tree: new Set(check.tree), depth: 0 });
    }
    if (check.purpose !== 'bisect' || check.outcome === null) continue;
    const owner = failed.findLast(
      (f) => f.version === check.version && check.tree.every((e) => f.tree.has(e)),
    );
    if (owner) owner.depth += 1;
  }
  return {
    retries: retries.length,
    flakes: retries.filter((c) => c.outcome === 'pass').length,
    bisections: failed.length,
    maxBisectionDepth: Math.max(0, ...failed.map((f) => f.depth)),
  };
}
