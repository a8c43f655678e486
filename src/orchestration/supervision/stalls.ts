/**
 * @module orchestration/supervision/stalls
 * Stall detection (issue 12): a run that is alive — status `running`, its lease held and not
 * expired — yet makes no progress for `afterMs` is a stall. Progress is the latest of: the claim
 * of its current execution (`updated_at`), the last journal entry written, and the last progress
 * reported with {@link reportProgress} (token deltas, tool output: work a long step does before
 * it journals anything). A worker's lease renewals are not progress: a hung step keeps renewing.
 *
 * Stalls are kept apart from deaths: a dead worker stops renewing, its lease expires and the run
 * is resumed elsewhere by the claim of orphans; such a run is never a stall here (its lease is not
 * live). Each stall is recorded once in `orch_stalls` per (run, progress mark) and handled by its
 * policy in the same transaction, so several sweeping processes never handle one twice:
 * - `escalate`: a P1 escalation, one open item per run (`run-stalled:<run>`), counting stalls;
 * - `restart`: the run's current execution loses its lease (the owner is fenced out, so its
 *   heartbeat aborts it and any late write is refused); when the lease runs out, any worker claims
 *   the run and resumes it by replay. The attempt is not counted as a failure: nothing failed.
 *
 * Detection is one query per sweep over the live-lease index, not a timer per run.
 */
import { newId, type Logger, type Migration, type Queryable } from '../../kernel/index.ts';
import type { Engine } from '../engine.ts';
import { raiseEscalation } from '../escalations/escalations.ts';
import { ESCALATIONS_LAYER, escalationMigrations } from '../escalations/migrations.ts';

export const STALLS_LAYER = 'orchestration.stalls';

export type StallPolicy = 'escalate' | 'restart';

/** Global defaults; a workflow's `stall` option overrides them for its runs. */
export const STALL_DEFAULTS = { afterMs: 600_000, policy: 'escalate', sweepMs: 30_000 } as const;

export const stallMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'stalls and reported progress',
    up: `
      CREATE TABLE orch_stalls (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        workflow TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        lease_owner TEXT,
        progress_at BIGINT NOT NULL,
        detected_at BIGINT NOT NULL,
        policy TEXT NOT NULL,
        UNIQUE (run_id, progress_at)
      );
      CREATE INDEX orch_stalls_tenant ON orch_stalls (tenant_id, detected_at);
      CREATE TABLE orch_run_progress (
        run_id TEXT PRIMARY KEY,
        at BIGINT NOT NULL
      );`,
  },
];

export interface Stall {
  readonly id: string;
  readonly tenantId: string;
  readonly runId: string;
  readonly workflow: string;
  readonly attempt: number;
  readonly leaseOwner: string | null;
  /** The last progress seen before it stalled. */
  readonly progressAt: number;
  readonly detectedAt: number;
  readonly policy: StallPolicy;
}

/** Records progress of a run outside its journal (call it from a long step: a token, a tool's output). */
export async function reportProgress(q: Queryable, runId: string, at: number = Date.now()): Promise<void> {
  await q.run(
    `INSERT INTO orch_run_progress (run_id, at) VALUES (?, ?)
     ON CONFLICT (run_id) DO UPDATE SET at = CASE WHEN excluded.at > orch_run_progress.at
       THEN excluded.at ELSE orch_run_progress.at END`,
    [runId, at],
  );
}

interface LiveRun {
  readonly [column: string]: unknown;
  id: string;
  tenant_id: string;
  workflow: string;
  version: number;
  attempt: number;
  lease_owner: string | null;
  updated_at: number | string;
  journal_at: number | string | null;
  progress_at: number | string | null;
}

interface StallRow {
  readonly [column: string]: unknown;
  id: string;
  tenant_id: string;
  run_id: string;
  workflow: string;
  attempt: number;
  lease_owner: string | null;
  progress_at: number | string;
  detected_at: number | string;
  policy: StallPolicy;
}

const toStall = (r: StallRow): Stall => ({
  id: r.id,
  tenantId: r.tenant_id,
  runId: r.run_id,
  workflow: r.workflow,
  attempt: r.attempt,
  leaseOwner: r.lease_owner,
  progressAt: Number(r.progress_at),
  detectedAt: Number(r.detected_at),
  policy: r.policy,
});

export interface StallWatchOptions {
  readonly engine: Engine;
  /** @default 10 min */
  readonly afterMs?: number;
  /** @default 'escalate' */
  readonly policy?: StallPolicy;
}

export class StallWatch {
  readonly #engine: Engine;
  readonly #afterMs: number;
  readonly #policy: StallPolicy;

  private constructor(options: StallWatchOptions) {
    this.#engine = options.engine;
    this.#afterMs = options.afterMs ?? STALL_DEFAULTS.afterMs;
    this.#policy = options.policy ?? STALL_DEFAULTS.policy;
  }

  static async open(options: StallWatchOptions): Promise<StallWatch> {
    await options.engine.store.migrate(ESCALATIONS_LAYER, escalationMigrations);
    await options.engine.store.migrate(STALLS_LAYER, stallMigrations);
    return new StallWatch(options);
  }

  /** The threshold and policy of a workflow's runs (a workflow not registered here: the global ones). */
  #policyOf(workflow: string, version: number): { afterMs: number; policy: StallPolicy } {
    const own = this.#engine.workflows.has(workflow, version)
      ? this.#engine.workflows.get(workflow, version).options.stall
      : undefined;
    return { afterMs: own?.afterMs ?? this.#afterMs, policy: own?.policy ?? this.#policy };
  }

  /** Finds live runs without progress past their threshold, records and handles each once. */
  async sweep(): Promise<Stall[]> {
    const { store, clock } = this.#engine;
    const now = clock.now();
    const thresholds = this.#engine.workflows.keys().map((key) => {
      const at = key.lastIndexOf(':');
      return this.#policyOf(key.slice(0, at), Number(key.slice(at + 1))).afterMs;
    });
    const shortest = Math.min(this.#afterMs, ...thresholds);
    // Only live leases, and only runs whose current execution began before the shortest threshold.
    const live = await store.all<LiveRun>(
      `SELECT r.id, r.tenant_id, r.workflow, r.version, r.attempt, r.lease_owner, r.updated_at,
         (SELECT MAX(COALESCE(j.finished_at, j.started_at)) FROM orch_journal j WHERE j.run_id = r.id) AS journal_at,
         (SELECT p.at FROM orch_run_progress p WHERE p.run_id = r.id) AS progress_at
       FROM orch_runs r
       WHERE r.status = 'running' AND r.lease_expires_at >= ? AND r.updated_at <= ?`,
      [now, now - shortest],
    );
    const found: Stall[] = [];
    for (const run of live) {
      const progressAt = Math.max(
        Number(run.updated_at),
        Number(run.journal_at ?? 0),
        Number(run.progress_at ?? 0),
      );
      const { afterMs, policy } = this.#policyOf(run.workflow, run.version);
      if (now - progressAt < afterMs) continue;
      const stall = await store.transaction((tx) => this.#handle(tx, run, { progressAt, policy, now }));
      if (stall) found.push(stall);
    }
    return found;
  }

  async #handle(
    tx: Queryable,
    run: LiveRun,
    seen: { progressAt: number; policy: StallPolicy; now: number },
  ): Promise<Stall | undefined> {
    const { progressAt, policy, now } = seen;
    const row = await tx.get<StallRow>(
      `INSERT INTO orch_stalls (id, tenant_id, run_id, workflow, attempt, lease_owner, progress_at, detected_at, policy)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, progress_at) DO NOTHING RETURNING *`,
      [
        newId('stl', now),
        run.tenant_id,
        run.id,
        run.workflow,
        run.attempt,
        run.lease_owner,
        progressAt,
        now,
        policy,
      ],
    );
    if (!row) return undefined; // this stall was already handled (by this or another sweeper)
    const idle = Math.round((now - progressAt) / 1000);
    if (policy === 'restart')
      // Fence the owner out but keep the expiry: its heartbeat aborts the execution well before the
      // lease runs out, so the orphan claim that resumes the run never races the old execution.
      await tx.run(
        `UPDATE orch_runs SET lease_owner = ? WHERE id = ? AND status = 'running' AND lease_owner = ?`,
        [`stalled:${run.lease_owner ?? ''}`, run.id, run.lease_owner],
      );
    await raiseEscalation(
      tx,
      run.tenant_id,
      {
        key: `run-stalled:${run.id}`,
        severity: policy === 'restart' ? 'P2' : 'P1',
        title: `run ${run.id} of ${run.workflow} stalled`,
        detail: `no progress for ${idle} s while its lease was held by ${run.lease_owner ?? '?'}${policy === 'restart' ? '; restarted by replay' : ''}`,
        source: 'stalls',
      },
      now,
    );
    return toStall(row);
  }

  /** Stalls recorded in a tenant, newest first. */
  async list(tenant: string, options: { runId?: string; limit?: number } = {}): Promise<Stall[]> {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const rows = await this.#engine.store.all<StallRow>(
      `SELECT * FROM orch_stalls WHERE tenant_id = ?${options.runId === undefined ? '' : ' AND run_id = ?'}
       ORDER BY detected_at DESC, id LIMIT ?`,
      options.runId === undefined ? [tenant, limit] : [tenant, options.runId, limit],
    );
    return rows.map(toStall);
  }

  /** Sweeps every `intervalMs` (default 30 s) until stopped; a failed sweep is retried at the next. */
  start(options: { intervalMs?: number; logger: Logger }): { stop(): Promise<void> } {
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = this.sweep().catch((error: unknown) =>
        options.logger.warn({ err: error }, 'stall sweep failed; retrying'),
      );
    }, options.intervalMs ?? STALL_DEFAULTS.sweepMs);
    timer.unref();
    return {
      stop: async () => {
        clearInterval(timer);
        await running;
      },
    };
  }
}
