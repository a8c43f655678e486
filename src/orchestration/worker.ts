/**
 * @module orchestration/worker
 * A worker loop: claims runnable runs (queued, due, or whose lease expired) with one UPDATE …
 * RETURNING — `FOR UPDATE SKIP LOCKED` on PostgreSQL so many workers on many machines never claim
 * the same run — executes them, and renews its leases with heartbeats. It sleeps until woken by
 * LISTEN/NOTIFY (PostgreSQL), the in-process emitter, or its poll interval (timers come due
 * without any notification). A worker that stops heartbeating (killed, partitioned) loses its
 * leases after `leaseMs`, and any other worker resumes its runs by replay.
 */
import { newId, silentLogger, StrataError, type Logger, type Queryable } from '../kernel/index.ts';
import { CompletionBatcher } from './completions.ts';
import { JournalBatcher } from './journal-batcher.ts';
import { admit, listLimits, lockLimits, MATCHES_A_LIMIT, type LimitRow } from './limits.ts';
import { fireDueSchedules } from './schedules.ts';
import {
  parkUndeployedRuns,
  pruneDeployments,
  publishDeployments,
  retireDeployments,
  unparkRuns,
} from './deployments.ts';

/** How often a worker looks for due cron schedules (cron's finest grain is a second). */
const SCHEDULE_CHECK_MS = 250;
import { WAKE_CHANNEL, type Engine } from './engine.ts';
import { executeRun, LeaseLost } from './executor.ts';
import { publishingRunChanges } from './run-events.ts';
import { withExecution } from './execution-scope.ts';
import { executionEnded } from './wait.ts';
import { claimOrphans } from './takeovers.ts';
import type { JournalRow, RunRow } from './run-row.ts';

export interface WorkerOptions {
  /** @default a new `wrk_…` id */
  readonly id?: string;
  /** @default ['default'] */
  readonly queues?: readonly string[];
  /** Runs executed at once by this worker. @default 10 */
  readonly concurrency?: number;
  /** How long a claim lasts without a heartbeat. @default 30_000 */
  readonly leaseMs?: number;
  /** @default leaseMs / 3 */
  readonly heartbeatMs?: number;
  /** Longest sleep between claims when nothing wakes the worker. @default 1_000 */
  readonly pollMs?: number;
  /** @default silent */
  readonly logger?: Logger;
  /**
   * A workflow version counts as deployed while a worker that has it refreshed its row within this
   * time (refreshed every third of it); runs of versions no longer deployed park as
   * `version_unavailable` (see deployments.ts). @default 30_000
   */
  readonly deploymentTtlMs?: number;
}

interface Active {
  readonly controller: AbortController;
  readonly done: Promise<void>;
  readonly timer?: NodeJS.Timeout;
}

export class Worker {
  readonly id: string;
  readonly #engine: Engine;
  readonly #queues: readonly string[];
  readonly #concurrency: number;
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #pollMs: number;
  readonly #logger: Logger;
  readonly #active = new Map<string, Active>();
  readonly #completions: CompletionBatcher;
  readonly #journalWrites: JournalBatcher | undefined;
  #limitsCache: LimitRow[] = [];
  #limitsReadAt = -Infinity;
  #orphansCheckedAt = -Infinity;
  readonly #orphanCheckMs: number;
  readonly #deploymentTtlMs: number;
  #deploymentsAt = -Infinity;
  /** How many versions this worker announced last: a workflow registered since is announced at once. */
  #deployedKeys = 0;
  #running = false;
  #loop: Promise<void> | undefined;
  #kick: (() => void) | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** A wake-up (new work, or room freed) since the loop last began a claim: it must not sleep. */
  #woken = false;
  readonly #onWake = (): void => {
    this.#woken = true;
    this.#kick?.();
  };

  constructor(engine: Engine, options: WorkerOptions = {}) {
    this.#engine = engine;
    this.id = options.id ?? newId('wrk');
    this.#queues = options.queues ?? ['default'];
    this.#concurrency = options.concurrency ?? 10;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(this.#leaseMs / 3));
    this.#pollMs = options.pollMs ?? 1_000;
    // Orphans of a dead worker are looked for a few times per lease even while the queue is full,
    // so they resume soon after their lease expires instead of after the backlog drains.
    this.#orphanCheckMs = Math.min(1_000, Math.max(50, Math.floor(this.#leaseMs / 4)));
    this.#logger = options.logger ?? silentLogger();
    this.#deploymentTtlMs = options.deploymentTtlMs ?? 30_000;
    this.#completions = new CompletionBatcher(engine, this.id);
    // SQLite commits in process (no round trip to save); PostgreSQL group-commits steps of many runs.
    this.#journalWrites =
      engine.store.dialect === 'postgres'
        ? new JournalBatcher(engine.store, this.id, () => engine.clock.now())
        : undefined;
  }

  get activeRuns(): number {
    return this.#active.size;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#engine.wakes.on('wake', this.#onWake);
    this.#unlisten = await this.#engine.store.listen?.(WAKE_CHANNEL, this.#onWake);
    this.#heartbeat = setInterval(() => void this.#renew().catch(() => undefined), this.#heartbeatMs);
    this.#loop = this.#run();
  }

  /** Stops claiming; waits for (or, with `abandon`, abandons) the runs in progress. */
  async stop(options: { abandon?: boolean } = {}): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#kick?.();
    await this.#loop;
    if (options.abandon)
      for (const a of this.#active.values()) a.controller.abort(new LeaseLost('worker stopping'));
    await Promise.allSettled([...this.#active.values()].map((a) => a.done));
    await retireDeployments(this.#engine.store, this.id).catch((error: unknown) =>
      this.#logger.warn({ err: error, worker: this.id }, 'withdrawing deployed versions failed'),
    );
    clearInterval(this.#heartbeat);
    this.#engine.wakes.off('wake', this.#onWake);
    await this.#unlisten?.();
  }

  async #run(): Promise<void> {
    let lastScheduleCheck = 0;
    while (this.#running) {
      const keysChanged = this.#engine.workflows.keys().length !== this.#deployedKeys;
      if (keysChanged || Date.now() - this.#deploymentsAt >= this.#deploymentTtlMs / 3) {
        this.#deploymentsAt = Date.now();
        await this.#refreshDeployments().catch((error: unknown) =>
          this.#logger.warn({ err: error, worker: this.id }, 'refreshing deployed versions failed'),
        );
      }
      if (Date.now() - lastScheduleCheck >= SCHEDULE_CHECK_MS) {
        lastScheduleCheck = Date.now();
        await fireDueSchedules(this.#engine).catch((error: unknown) =>
          this.#logger.warn({ err: error, worker: this.id }, 'firing schedules failed'),
        );
      }
      // Found with the run:changed events (a claim that takes a little longer): a wake-up that
      // arrived while the loop was claiming was lost, and the worker slept a whole poll interval.
      this.#woken = false;
      const room = this.#concurrency - this.#active.size;
      let claimed: RunRow[] = [];
      if (room > 0) {
        try {
          claimed = await this.#claim(room);
        } catch (error) {
          this.#logger.warn(
            { err: error, worker: this.id },
            'claim failed; retrying after the poll interval',
          );
          claimed = [];
        }
      }
      const journals = await this.#journals(claimed).catch(() => new Map<string, JournalRow[]>());
      for (const row of claimed) this.#execute(row, journals.get(row.id));
      if (claimed.length === 0 || this.#active.size >= this.#concurrency)
        await this.#idle(claimed.length === 0 ? await this.#nextDueIn() : this.#pollMs);
    }
  }

  /** Announces this worker's versions, resumes their parked runs, parks runs of undeployed ones. */
  async #refreshDeployments(): Promise<void> {
    const { store, clock, workflows } = this.#engine;
    const keys = workflows.keys();
    const now = clock.now();
    await publishDeployments(store, this.id, keys, now);
    this.#deployedKeys = keys.length;
    const { resumed, parked } = await this.#engine.withRunEvents(async (tx) => {
      const queued = await unparkRuns(tx, keys, now);
      const away = await parkUndeployedRuns(tx, now, this.#deploymentTtlMs);
      await this.#engine.publishRunChanges(tx, [...queued, ...away]);
      return { resumed: queued.length, parked: away.length };
    });
    await pruneDeployments(store, now - 10 * this.#deploymentTtlMs);
    if (resumed > 0) await this.#engine.notify(store);
    if (resumed + parked > 0) this.#logger.info({ worker: this.id, resumed, parked }, 'run versions');
  }

  /** Milliseconds until the next timer or delayed run is due, capped by the poll interval. */
  async #nextDueIn(): Promise<number> {
    const { store, clock } = this.#engine;
    const row = await store
      .get<{ due: number | null }>(
        "SELECT MIN(available_at) AS due FROM orch_runs WHERE status IN ('queued', 'waiting') AND available_at > ?",
        [clock.now()],
      )
      .catch(() => undefined);
    const due = row?.due === null || row?.due === undefined ? Infinity : Number(row.due) - clock.now();
    return Math.max(1, Math.min(this.#pollMs, due));
  }

  #idle(ms: number): Promise<void> {
    if (this.#woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#kick = done;
    });
  }

  async #claim(room: number): Promise<RunRow[]> {
    // Runs of dead workers are looked for in their own query (the hot claim stays a walk of the
    // ready index in claim order): when nothing is ready, and every orphanCheckMs regardless.
    const checkedOrphans = Date.now() - this.#orphansCheckedAt >= this.#orphanCheckMs;
    const orphans = checkedOrphans ? await this.#claimOrphans(room) : [];
    if (orphans.length >= room) return orphans;
    const ready = await this.#claimReady(room - orphans.length);
    if (checkedOrphans || orphans.length + ready.length > 0) return [...orphans, ...ready];
    return this.#claimOrphans(room);
  }

  async #claimOrphans(limit: number): Promise<RunRow[]> {
    const checkedAt = Date.now();
    const { store, clock, workflows } = this.#engine;
    const keys = workflows.keys();
    if (keys.length === 0) return [];
    const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
    // Each takeover is recorded (deaths and detection latency in the fleet report, takeovers.ts).
    const orphans = await claimOrphans(store, {
      workerId: this.id,
      leaseMs: this.#leaseMs,
      now: clock.now(),
      limit,
      scope: {
        sql: `queue IN (${marks(this.#queues.length)}) AND (workflow || ':' || version) IN (${marks(keys.length)})`,
        params: [...this.#queues, ...keys],
      },
    });
    // A full batch may leave more orphans behind: keep taking them first at the next claims.
    if (orphans.length < limit) this.#orphansCheckedAt = checkedAt;
    return orphans;
  }

  async #claimReady(limit: number): Promise<RunRow[]> {
    const limits = await this.#limits();
    const readyCondition = "status IN ('queued', 'waiting') AND available_at <= ?";
    // Without limits, the claim stays a plain walk of the ready index (no per-row limit check).
    const ready = await this.#claimWhere(
      limits.length ? `${readyCondition} AND NOT ${MATCHES_A_LIMIT}` : readyCondition,
      limit,
    );
    const limited =
      limits.length && ready.length < limit ? await this.#claimLimited(limits, limit - ready.length) : [];
    return [...ready, ...limited];
  }

  /** The concurrency limits, re-read at most once a second (a new limit applies within 1 s). */
  async #limits(): Promise<LimitRow[]> {
    const now = Date.now();
    if (now - this.#limitsReadAt >= 1_000) {
      this.#limitsCache = await listLimits(this.#engine.store);
      this.#limitsReadAt = now;
    }
    return this.#limitsCache;
  }

  /** Claims ready runs that match concurrency limits, admitting only what every limit has room for. */
  async #claimLimited(limits: readonly LimitRow[], room: number): Promise<RunRow[]> {
    const { store, clock } = this.#engine;
    return store.transaction(async (tx) => {
      const left = await lockLimits(tx, limits);
      const now = clock.now();
      const candidates = await this.#selectWhere(
        tx,
        `status IN ('queued', 'waiting') AND available_at <= ? AND ${MATCHES_A_LIMIT}`,
        room * 4,
        now,
      );
      const ids = admit(left, candidates, room);
      if (ids.length === 0) return [];
      const claimed = await tx.all<RunRow>(
        `UPDATE orch_runs SET status = 'running', lease_owner = ?, lease_expires_at = ?, wake_pending = 0, updated_at = ?
         WHERE id IN (${ids.map(() => '?').join(', ')}) RETURNING *`,
        [this.id, now + this.#leaseMs, now, ...ids],
      );
      await this.#engine.publishRunChanges(tx, claimed);
      return claimed;
    });
  }

  /** Candidates for a claim, in claim order, locked (and skipping rows others hold) on PostgreSQL. */
  #selectWhere(q: Queryable, condition: string, limit: number, now: number): Promise<RunRow[]> {
    const keys = this.#engine.workflows.keys();
    if (keys.length === 0) return Promise.resolve([]);
    const skipLocked = q.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
    return q.all<RunRow>(
      `SELECT * FROM orch_runs WHERE ${condition}
         AND queue IN (${marks(this.#queues.length)}) AND (workflow || ':' || version) IN (${marks(keys.length)})
       ORDER BY priority DESC, available_at, id LIMIT ?${skipLocked}`,
      [now, ...this.#queues, ...keys, limit],
    );
  }

  async #claimWhere(condition: string, limit: number): Promise<RunRow[]> {
    const { store, clock, workflows } = this.#engine;
    const keys = workflows.keys();
    if (keys.length === 0) return [];
    const now = clock.now();
    const skipLocked = store.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
    const claim = `UPDATE orch_runs SET status = 'running', lease_owner = ?, lease_expires_at = ?, wake_pending = 0,
         updated_at = ?
       WHERE id IN (
         SELECT id FROM orch_runs
         WHERE ${condition}
           AND queue IN (${marks(this.#queues.length)}) AND (workflow || ':' || version) IN (${marks(keys.length)})
         ORDER BY priority DESC, available_at, id LIMIT ?${skipLocked})
       RETURNING *`;
    const params = [this.id, now + this.#leaseMs, now, now, ...this.#queues, ...keys, limit];
    // The claim and its `run:changed` (running) events: one statement on PostgreSQL, where the
    // events are written by the statement itself, and on SQLite, where triggers write them.
    const claimed =
      store.dialect === 'postgres'
        ? await store.all<RunRow>(publishingRunChanges(claim), [...params, now])
        : await store.all<RunRow>(claim, params);
    if (claimed.length > 0) this.#engine.events.poke();
    return claimed;
  }

  /** Journals of a claimed batch in one query (most runs have none yet). */
  async #journals(rows: readonly RunRow[]): Promise<Map<string, JournalRow[]>> {
    const byRun = new Map<string, JournalRow[]>(rows.map((r) => [r.id, []]));
    if (rows.length === 0) return byRun;
    const journal = await this.#engine.store.all<JournalRow>(
      `SELECT * FROM orch_journal WHERE run_id IN (${rows.map(() => '?').join(', ')}) ORDER BY run_id, seq`,
      rows.map((r) => r.id),
    );
    for (const entry of journal) byRun.get(entry.run_id)?.push(entry);
    return byRun;
  }

  #execute(row: RunRow, journal: readonly JournalRow[] | undefined): void {
    // Found by the supervision tests: an execution that kept the event loop busy past its lease
    // (no heartbeat ran) is claimed back as an orphan by this same worker. Its lease is renewed by
    // that claim, but a second execution under the same worker id would pass the same fence and
    // write the journal twice: keep the one already running. The claim cleared wake_pending, so
    // set it again (a spare wake-up costs a replay; a lost one would strand the run).
    if (this.#active.has(row.id)) {
      void this.#engine.store
        .run('UPDATE orch_runs SET wake_pending = 1 WHERE id = ?', [row.id])
        .catch((error: unknown) =>
          this.#logger.warn({ err: error, run: row.id }, 'restoring a wake-up failed'),
        );
      return;
    }
    const controller = new AbortController();
    const now = this.#engine.clock.now();
    let timer: NodeJS.Timeout | undefined;
    if (row.timeout_at !== null) {
      const timeout = new StrataError('E_RUN_TIMEOUT', `run ${row.id} exceeded its timeout`);
      if (row.timeout_at <= now) controller.abort(timeout);
      else timer = setTimeout(() => controller.abort(timeout), row.timeout_at - now);
    }
    if (row.cancel_requested === 1) controller.abort(new StrataError('E_CANCELLED', 'the run was cancelled'));
    // The execution scope tells fenced syscalls (fleet.task.*) which worker makes the call.
    const done = withExecution({ runId: row.id, workerId: this.id }, () =>
      executeRun(this.#engine, row, {
        workerId: this.id,
        signal: controller.signal,
        journal,
        completions: this.#completions,
        ...(this.#journalWrites ? { journalWrites: this.#journalWrites } : {}),
      }),
    )
      // A store failure mid-run: the lease is left to expire and another claim resumes the run.
      .catch((error: unknown) => this.#logger.error({ err: error, run: row.id }, 'run execution failed'))
      .finally(() => {
        clearTimeout(timer);
        this.#active.delete(row.id);
        this.#engine.wakes.emit(executionEnded(row.id));
        this.#onWake();
      });
    this.#active.set(row.id, { controller, done, timer });
  }

  /** Renews this worker's leases; runs whose lease is gone are stopped, cancelled ones are told. */
  async #renew(): Promise<void> {
    if (this.#active.size === 0) return;
    const { store, clock } = this.#engine;
    const ids = [...this.#active.keys()];
    // Only runs still executing here: a run whose execution ended abnormally must be left to expire.
    const rows = await (store.urgent ?? store).all<{ id: string; cancel_requested: number }>(
      `UPDATE orch_runs SET lease_expires_at = ? WHERE lease_owner = ? AND status = 'running'
         AND id IN (${ids.map(() => '?').join(', ')}) RETURNING id, cancel_requested`,
      [clock.now() + this.#leaseMs, this.id, ...ids],
    );
    const held = new Map(rows.map((r) => [r.id, r.cancel_requested]));
    for (const [id, active] of this.#active) {
      if (!held.has(id)) active.controller.abort(new LeaseLost(id));
      else if (held.get(id) === 1)
        active.controller.abort(new StrataError('E_CANCELLED', 'the run was cancelled'));
    }
  }
}
