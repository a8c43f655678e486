/**
 * @module orchestration/engine
 * The run API — start, get, list, signal, cancel, retry, journal — over the store. Workers (see
 * `worker.ts`) execute what this queues. Everything is tenant-scoped: a run of another tenant is
 * `E_NOT_FOUND`, never visible.
 */
import { EventEmitter } from 'node:events';
import {
  EventBus,
  isStrataError,
  newId,
  StrataError,
  systemClock,
  type Clock,
  type Kernel,
  type MeterHook,
  type Principal,
  type Queryable,
  type Store,
} from '../kernel/index.ts';
import type { WorkflowDefinition } from './define.ts';
import { ORCHESTRATION_LAYER, orchestrationMigrations } from './migrations.ts';
import { DEPLOYMENTS_LAYER, deploymentMigrations } from './deployments.ts';
import { checkProject, labelTree, PROJECTS_LAYER, projectMigrations } from './finops/projects.ts';
import { setConcurrencyLimit, type ConcurrencyLimit } from './limits.ts';
import { setRateLimit, type RateLimit } from './rate-limits.ts';
import { WorkflowRegistry } from './registry.ts';
import { countRuns, listRuns, type RunFilter, type RunPage } from './run-query.ts';
import { StartBatcher } from './start-batcher.ts';
import { RUN_CHANGE_COLUMNS, runChangedEvent, type RunChangeRow } from './run-events.ts';
import { RUN_EVENTS_LAYER, runEventMigrations } from './run-event-triggers.ts';
import { TERMINAL, toRun, type JournalRow, type Run, type RunRow } from './run-row.ts';

/** NOTIFY channel on PostgreSQL; an in-process emitter event on SQLite. */
export const WAKE_CHANNEL = 'strata_runs';

const INSERT_RUNS = `INSERT INTO orch_runs (id, tenant_id, workflow, version, queue, priority, status, input, principal,
  parent_id, root_id, idempotency_key, attempt, max_attempts, available_at, timeout_at, created_at, updated_at)`;
const RUN_ROW_MARKS = "(?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)";
const ON_KEY_CONFLICT = 'ON CONFLICT (tenant_id, idempotency_key) DO NOTHING';
const START_SQL = {
  insert: INSERT_RUNS,
  marks: RUN_ROW_MARKS,
  onConflict: ON_KEY_CONFLICT,
  channel: WAKE_CHANNEL,
};

export interface StartOptions {
  readonly principal: Principal;
  readonly version?: number;
  readonly idempotencyKey?: string;
  readonly priority?: number;
  readonly queue?: string;
  /** Start no earlier than this (epoch ms); or use `delayMs`. */
  readonly runAt?: number;
  readonly delayMs?: number;
  readonly parentId?: string;
  readonly rootId?: string;
  /** Cost-per-task label of a root run's tree; child runs inherit their root's. */
  readonly project?: string;
}

/** A listing's filter and page (see run-query.ts). */
export type ListFilter = RunFilter & RunPage;

export class Engine {
  readonly store: Store;
  readonly clock: Clock;
  readonly workflows = new WorkflowRegistry();
  /** In-process wake-ups (always), in addition to LISTEN/NOTIFY on PostgreSQL. */
  readonly wakes = new EventEmitter();
  #kernel: Kernel | undefined;
  #starts: StartBatcher | undefined;
  #events: EventBus;

  private constructor(store: Store, clock: Clock, events: EventBus) {
    this.store = store;
    this.clock = clock;
    this.#events = events;
    this.wakes.setMaxListeners(1000);
  }

  /** `events`: where `run:changed` is published; by default a bus of its own on the store, and the
   *  kernel's once attached (both write the same outbox). */
  static async open(options: { store: Store; clock?: Clock; events?: EventBus }): Promise<Engine> {
    await options.store.migrate(ORCHESTRATION_LAYER, orchestrationMigrations);
    await options.store.migrate(DEPLOYMENTS_LAYER, deploymentMigrations);
    await options.store.migrate(PROJECTS_LAYER, projectMigrations);
    const clock = options.clock ?? systemClock;
    const events = options.events ?? (await EventBus.open({ store: options.store, clock }));
    await options.store.migrate(RUN_EVENTS_LAYER, runEventMigrations); // after the outbox
    return new Engine(options.store, clock, events);
  }

  /** Gives runs their syscalls (`ctx.syscall`); the kernel should use {@link meterHook} as its meter. */
  attachKernel(kernel: Kernel): void {
    this.#kernel = kernel;
    this.#events = kernel.events;
  }

  /** The bus `run:changed` events go to. */
  get events(): EventBus {
    return this.#events;
  }

  /**
   * Publishes `run:changed` for each row whose status `q` just wrote; call it last in the
   * transaction. On SQLite the triggers already wrote them (run-event-triggers.ts): this only has
   * the bus dispatch them.
   */
  readonly publishRunChanges = async (q: Queryable, rows: readonly RunChangeRow[]): Promise<void> => {
    if (rows.length === 0) return;
    if (q.dialect === 'postgres') await this.#events.publishMany(q, rows.map(runChangedEvent));
    else this.#events.poke(q);
  };

  /**
   * Runs a status write and its {@link publishRunChanges} atomically: in a transaction on
   * PostgreSQL; on SQLite, whose triggers publish within the statement itself, on the store.
   */
  withRunEvents<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.store.dialect === 'postgres' ? this.store.transaction(fn) : fn(this.store);
  }

  get kernel(): Kernel {
    if (!this.#kernel)
      throw new StrataError('E_CONFIG', 'the engine has no kernel: call engine.attachKernel(kernel)');
    return this.#kernel;
  }

  /** A kernel meter hook that adds each metered syscall's cost to the run that made it. */
  readonly meterHook: MeterHook = {
    record: async (record) => {
      if (!record.runId || record.costMicros === 0) return;
      await this.store.run('UPDATE orch_runs SET cost_micros = cost_micros + ? WHERE id = ?', [
        record.costMicros,
        record.runId,
      ]);
    },
  };

  /** At most `maxRunning` runs at once for a tenant, queue or workflow, across every worker. */
  setConcurrencyLimit(limit: ConcurrencyLimit): Promise<void> {
    return setConcurrencyLimit(this.store, limit);
  }

  /** Creates or changes a shared token bucket that steps name with `{ rateLimit: key }`. */
  setRateLimit(key: string, limit: RateLimit): Promise<void> {
    return setRateLimit(this.store, key, limit, this.clock.now());
  }

  register<TInput, TOutput>(def: WorkflowDefinition<TInput, TOutput>): void {
    this.workflows.register(def as unknown as WorkflowDefinition);
  }

  /** Starts a run; with an idempotency key, a second start returns the first run. */
  async start(name: string, input: unknown, options: StartOptions, q: Queryable = this.store): Promise<Run> {
    const def = this.workflows.get(name, options.version);
    const project = options.project === undefined ? undefined : checkProject(options.project);
    // The run and its project label commit together: a worker claiming the run in between would
    // bill its first calls with no project (and no project budget would hold them).
    if (project !== undefined && q === this.store)
      return this.store.transaction((tx) => this.start(name, input, options, tx));
    const { id, values } = this.#newRunValues(def, input, options);
    if (q.dialect === 'postgres' && project === undefined) {
      // The insert and its NOTIFY in one statement (none on a conflict); outside a transaction,
      // with the other starts of this turn of the event loop: one round trip, one commit.
      const inserted =
        q === this.store
          ? await (this.#starts ??= new StartBatcher(this.store, START_SQL, {
              now: () => this.clock.now(),
              published: () => this.#events.poke(),
            })).start(id, values)
          : await q.get<RunRow>(
              `WITH inserted AS (${INSERT_RUNS} VALUES ${RUN_ROW_MARKS} ${ON_KEY_CONFLICT} RETURNING *)
               SELECT inserted.*, pg_notify(?, '') AS notified FROM inserted`,
              [...values, WAKE_CHANNEL],
            );
      if (inserted && q !== this.store) await this.publishRunChanges(q, [inserted]);
      if (inserted) {
        queueMicrotask(() => this.wakes.emit('wake'));
        return toRun(inserted);
      }
      return this.#existing(def, options, q);
    }
    const inserted = await q.get<RunRow>(
      `${INSERT_RUNS} VALUES ${RUN_ROW_MARKS} ${ON_KEY_CONFLICT} RETURNING *`,
      values,
    );
    if (inserted) {
      if (project !== undefined && inserted.root_id === inserted.id)
        await labelTree(q, { tenantId: inserted.tenant_id, rootId: inserted.id, project });
      await this.notify(q);
      await this.publishRunChanges(q, [inserted]);
      return toRun(inserted);
    }
    return this.#existing(def, options, q);
  }

  /** The run an idempotent start found under its key (a conflict if it is of another workflow). */
  async #existing(def: WorkflowDefinition, options: StartOptions, q: Queryable): Promise<Run> {
    const existing = await q.get<RunRow>(
      'SELECT * FROM orch_runs WHERE tenant_id = ? AND idempotency_key = ?',
      [options.principal.tenantId, options.idempotencyKey ?? ''],
    );
    if (!existing)
      throw new StrataError('E_INTERNAL', 'idempotent start found neither a new nor an existing run');
    if (existing.workflow !== def.name) {
      // The same key for another workflow is a caller's mistake, not a repeat: say so.
      throw new StrataError(
        'E_CONFLICT',
        `idempotency key already used by run ${existing.id} of workflow ${existing.workflow}`,
        { runId: existing.id, workflow: existing.workflow },
      );
    }
    return toRun(existing);
  }

  /**
   * Starts many runs of one workflow (bulk enqueue): every input is validated first, then the runs
   * are inserted 500 to a statement in one transaction, with one wake-up. All or nothing. An
   * idempotency key names one run, so it has no meaning here and is refused.
   */
  async startMany(name: string, inputs: readonly unknown[], options: StartOptions): Promise<string[]> {
    if (options.idempotencyKey !== undefined)
      throw new StrataError('E_INVALID_INPUT', 'startMany takes no idempotency key; use start() per run');
    const def = this.workflows.get(name, options.version);
    const rows = inputs.map((input) => this.#newRunValues(def, input, options));
    await this.store.transaction(async (tx) => {
      const inserted: RunChangeRow[] = [];
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500);
        inserted.push(
          ...(await tx.all<RunChangeRow>(
            `${INSERT_RUNS} VALUES ${chunk.map(() => RUN_ROW_MARKS).join(', ')} RETURNING ${RUN_CHANGE_COLUMNS}`,
            chunk.flatMap((r) => r.values),
          )),
        );
      }
      if (rows.length > 0) await this.notify(tx);
      await this.publishRunChanges(tx, inserted);
    });
    return rows.map((r) => r.id);
  }

  /** A new run's id and its INSERT_RUNS values, after validating the input against the workflow. */
  #newRunValues(
    def: WorkflowDefinition,
    input: unknown,
    options: StartOptions,
  ): { id: string; values: (string | number | null)[] } {
    const parsed = def.input.safeParse(input);
    if (!parsed.success) {
      throw new StrataError('E_INVALID_INPUT', `invalid input for workflow ${def.name}`, {
        issues: parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    const now = this.clock.now();
    const id = newId('run', now);
    const runAt = options.runAt ?? now + (options.delayMs ?? 0);
    const { principal } = options;
    const values = [
      id,
      principal.tenantId,
      def.name,
      def.version,
      options.queue ?? def.options.queue ?? 'default',
      options.priority ?? def.options.priority ?? 0,
      JSON.stringify(parsed.data ?? null),
      JSON.stringify({
        tenantId: principal.tenantId,
        id: principal.id,
        kind: principal.kind,
        grants: principal.grants,
      }),
      options.parentId ?? null,
      options.rootId ?? id,
      options.idempotencyKey ?? null,
      def.options.retry?.attempts ?? 1,
      runAt,
      def.options.timeoutMs === undefined ? null : runAt + def.options.timeoutMs,
      now,
      now,
    ];
    return { id, values };
  }

  async get(tenantId: string, runId: string): Promise<Run> {
    return toRun(await this.#row(this.store, tenantId, runId));
  }

  /** One page of the tenant's runs matching `filter`, newest first (keyset on the id: `after`). */
  list(tenantId: string, filter: ListFilter = {}): Promise<Run[]> {
    return listRuns(this.store, tenantId, filter);
  }

  /** How many of the tenant's runs match `filter`, counting no further than `cap`. */
  count(tenantId: string, filter: RunFilter, cap: number): Promise<{ count: number; capped: boolean }> {
    return countRuns(this.store, tenantId, filter, cap);
  }

  /** The run's journal in order: the timeline of its steps, waits and children. */
  async journal(tenantId: string, runId: string): Promise<JournalRow[]> {
    await this.#row(this.store, tenantId, runId);
    return this.store.all<JournalRow>('SELECT * FROM orch_journal WHERE run_id = ? ORDER BY seq', [runId]);
  }

  /** Delivers a signal; a waiting run wakes. A finished run refuses it (E_CONFLICT) and nothing is stored. */
  async signal(tenantId: string, runId: string, name: string, payload: unknown): Promise<void> {
    await this.store.transaction(async (tx) => {
      const row = await this.#row(tx, tenantId, runId);
      if (TERMINAL.has(row.status))
        throw new StrataError('E_CONFLICT', `run ${runId} is ${row.status}; it takes no signals`, {
          status: row.status,
        });
      await tx.run(
        'INSERT INTO orch_signals (id, run_id, name, payload, created_at) VALUES (?, ?, ?, ?, ?)',
        [newId('sig', this.clock.now()), runId, name, JSON.stringify(payload ?? null), this.clock.now()],
      );
      await this.wake(tx, runId);
    });
  }

  /** Requests cancellation of a run and all its descendants; queued and waiting ones end at once. */
  async cancel(tenantId: string, runId: string): Promise<Run> {
    // It locks a run, then its children; a child's worker ending it locks the child, then wakes
    // the parent: on PostgreSQL one of the two can be aborted as a deadlock (seen cancelling
    // supervisors whose children die often). The worker's side is resumed after its lease;
    // the cancel, which has nothing to resume it, is made again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#cancelTree(tenantId, runId);
      } catch (error) {
        if (attempt >= 3 || !(isStrataError(error) && error.code === 'E_STORE' && error.retryable))
          throw error;
      }
    }
  }

  async #cancelTree(tenantId: string, runId: string): Promise<Run> {
    await this.store.transaction(async (tx) => {
      const root = await this.#row(tx, tenantId, runId);
      if (TERMINAL.has(root.status))
        throw new StrataError('E_CONFLICT', `run ${runId} is already ${root.status}`, {
          status: root.status,
        });
      let frontier = [runId];
      const ended: RunChangeRow[] = [];
      while (frontier.length > 0) {
        const next: string[] = [];
        for (const id of frontier) {
          const row = await this.#cancelOne(tx, id);
          if (row) ended.push(row);
          const children = await tx.all<{ id: string }>(
            "SELECT id FROM orch_runs WHERE parent_id = ? AND status NOT IN ('completed','failed','cancelled')",
            [id],
          );
          next.push(...children.map((c) => c.id));
        }
        frontier = next;
      }
      await this.publishRunChanges(tx, ended);
    });
    return this.get(tenantId, runId);
  }

  /** The run's row if it ended here (a running one is only flagged: its worker ends it). */
  async #cancelOne(tx: Queryable, id: string): Promise<RunChangeRow | undefined> {
    const now = this.clock.now();
    // One statement, whatever the run's status: found by a cancel stress run on PostgreSQL, two
    // statements (end it if queued or waiting, else flag it if running) lost the cancel of a run
    // that suspended between them (running at the first, waiting at the second): it went on for
    // good. One UPDATE takes the row lock and, on a concurrent change, is evaluated again against
    // the new row (and SQLite has one writer), so the run is either ended or flagged.
    const row = await tx.get<RunChangeRow>(
      `UPDATE orch_runs SET cancel_requested = 1, updated_at = ?,
         status = CASE WHEN status = 'running' THEN status ELSE 'cancelled' END,
         finished_at = CASE WHEN status = 'running' THEN finished_at ELSE ? END,
         lease_owner = CASE WHEN status = 'running' THEN lease_owner ELSE NULL END,
         error = CASE WHEN status = 'running' THEN error ELSE ? END
       WHERE id = ? AND status IN ('queued', 'waiting', 'version_unavailable', 'running')
       RETURNING ${RUN_CHANGE_COLUMNS}`,
      [now, now, JSON.stringify({ code: 'E_CANCELLED', message: 'cancelled' }), id],
    );
    // Running: the worker sees the flag at its next heartbeat and stops the run cooperatively.
    if (row?.status !== 'cancelled') return undefined;
    if (row.parent_id) await this.wake(tx, row.parent_id);
    return row;
  }

  /** Re-queues a failed or cancelled run from where it stopped (its journal is kept). */
  async retry(tenantId: string, runId: string): Promise<Run> {
    const now = this.clock.now();
    const row = await this.#row(this.store, tenantId, runId);
    if (row.status !== 'failed' && row.status !== 'cancelled') {
      throw new StrataError(
        'E_CONFLICT',
        `only failed or cancelled runs can be retried; run ${runId} is ${row.status}`,
      );
    }
    await this.store.transaction(async (tx) => {
      await dropFailedTail(tx, runId);
      const queued = await tx.all<RunChangeRow>(
        `UPDATE orch_runs SET status = 'queued', attempt = 1, error = NULL, finished_at = NULL, cancel_requested = 0,
           available_at = ?, updated_at = ? WHERE id = ? RETURNING ${RUN_CHANGE_COLUMNS}`,
        [now, now, runId],
      );
      await this.notify(tx);
      await this.publishRunChanges(tx, queued);
    });
    return this.get(tenantId, runId);
  }

  /** Marks a run as having something to react to; wakes it now if it is waiting. */
  async wake(q: Queryable, runId: string): Promise<void> {
    await this.wakeAll(q, [runId]);
  }

  /** {@link wake} for many runs in one statement (e.g. every run paused on one budget). */
  async wakeAll(q: Queryable, runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    await q.run(
      `UPDATE orch_runs SET wake_pending = 1, available_at = CASE WHEN status = 'waiting' THEN ? ELSE available_at END
       WHERE id IN (${runIds.map(() => '?').join(', ')})`,
      [this.clock.now(), ...runIds],
    );
    await this.notify(q);
  }

  /** Tells workers there is work: NOTIFY (on commit) on PostgreSQL, and the in-process emitter. */
  async notify(q: Queryable): Promise<void> {
    if (q.dialect === 'postgres') await q.get('SELECT pg_notify(?, ?)', [WAKE_CHANNEL, '']);
    queueMicrotask(() => this.wakes.emit('wake'));
  }

  async #row(q: Queryable, tenantId: string, runId: string): Promise<RunRow> {
    const row = await q.get<RunRow>('SELECT * FROM orch_runs WHERE id = ? AND tenant_id = ?', [
      runId,
      tenantId,
    ]);
    if (!row) throw new StrataError('E_NOT_FOUND', `no run ${runId.slice(0, 60)} in this tenant`);
    return row;
  }
}

/** Removes journal entries after the last successful one, so a retried run re-executes its failed step. */
export async function dropFailedTail(q: Queryable, runId: string): Promise<void> {
  await q.run(
    `DELETE FROM orch_journal WHERE run_id = ? AND status <> 'ok'
       AND seq > COALESCE((SELECT MAX(seq) FROM orch_journal WHERE run_id = ? AND status = 'ok'), 0)`,
    [runId, runId],
  );
}
