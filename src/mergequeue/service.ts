/**
 * @module mergequeue/service
 * The merge queues of a Strata instance: configure a queue per (repository, target branch),
 * submit changes (a branch of that repository, or a patch the queue commits on main), list, show
 * (with history, checks and the failing log), cancel, pause, resume, stats. One
 * {@link QueueWorker} per queue runs in this process and holds the queue's fencing token;
 * submitting kicks it.
 *
 * A worker that stopped — on an error (main moved outside the queue, git refused a push), or
 * because a newer worker took the queue — stays stopped: a submit records the entry and leaves it
 * queued, a kick does nothing, a restart does not reopen it. Only {@link MergeQueues.setPaused}
 * with `false` (`mq.resume`) opens a new worker. Why: each of these stops means a person must look
 * (fix the branch, or decide which process should own the queue); reopening on the next submit
 * would retry a broken state in a loop and, for a lost queue, take the token back from the
 * worker that won it, so two processes would steal the queue from each other on every submit.
 *
 * Repositories must live under the allowed roots (a path outside is E_REPOSITORY_NOT_ALLOWED), so
 * an agent cannot point the queue at arbitrary directories of the host; a remote URL is mirrored
 * there, with credentials from the vault (`RemoteAuth`).
 */
import {
  eventMigrations,
  EVENTS_LAYER,
  newId,
  publishEvents,
  silentLogger,
  StrataError,
  systemClock,
  type Clock,
  type Logger,
  type Store,
  type StrataErrorCode,
} from '../kernel/index.ts';
import { writeQueue, type ConfigureInput } from './configure.ts';
import { resolveChange, type SubmitChange } from './change.ts';
import type { CheckMetering } from './metering.ts';
import { MERGEQUEUE_LAYER, mergeQueueMigrations } from './migrations.ts';
import type { CheckRunner } from './runner.ts';
import { queueStats, type QueueStats } from './stats.ts';
import { repositoryOf, type SecretResolver } from './remote.ts';
import {
  entryChanged,
  QueueStore,
  type CheckRow,
  type EntryRow,
  type QueueRow,
  type StopInfo,
} from './store.ts';
import { TERMINAL_STATES, type EntryState } from './types.ts';
import { QueueWorker, type QueueWorkerOptions, type ReworkEvent } from './worker.ts';

export interface MergeQueuesOptions {
  readonly store: Store;
  readonly runner: CheckRunner;
  /** Directories repositories must be inside. */
  readonly allowedRoots: readonly string[];
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Checks running at once per queue. @default 2 */
  readonly concurrency?: number;
  readonly engine?: QueueWorkerOptions['engine'];
  /** Called when an entry needs rework (conflict, or a dependency that will not merge). */
  readonly onRework?: (event: ReworkEvent) => void | Promise<void>;
  /** Bills check time to the changes' authors through the billing layer's meters. */
  readonly metering?: CheckMetering;
  /** Reads a vault connection's secret, for queues on a remote URL (see `RemoteAuth`). */
  readonly secrets?: SecretResolver;
}

export type { SubmitChange };

export interface EntryDetail {
  readonly entry: EntryRow;
  readonly history: { from: string; to: string; reason: string; at: number }[];
  readonly checks: CheckRow[];
  /** The log of the check that named this entry the culprit. */
  readonly failingLog: string | null;
}

export class MergeQueues {
  readonly rows: QueueStore;
  readonly #o: MergeQueuesOptions;
  readonly #clock: Clock;
  readonly #workers = new Map<string, Promise<QueueWorker>>();

  private constructor(options: MergeQueuesOptions) {
    this.#o = options;
    this.rows = new QueueStore(options.store);
    this.#clock = options.clock ?? systemClock;
  }

  /** Migrates; git is checked when a queue is configured, so a host without git still starts. */
  static async open(options: MergeQueuesOptions): Promise<MergeQueues> {
    await options.store.migrate(EVENTS_LAYER, eventMigrations); // mq:changed goes to the kernel outbox
    await options.store.migrate(MERGEQUEUE_LAYER, mergeQueueMigrations);
    return new MergeQueues(options);
  }

  async configure(tenantId: string, input: ConfigureInput): Promise<QueueRow> {
    const where = { rows: this.rows, clock: this.#clock, access: this.#o };
    const { queue, updated } = await writeQueue(where, tenantId, input);
    // The next worker reads the new settings; a stopped one stays until the queue is resumed.
    if (updated && !(await this.halted(tenantId, input.queue))) await this.#drop(tenantId, input.queue);
    return queue;
  }

  /** Submits a change; the same branch at the same commit again returns the first entry. */
  async submit(tenantId: string, input: SubmitChange): Promise<EntryRow & { readonly duplicate: boolean }> {
    const queue = await this.rows.queue(tenantId, input.queue);
    const repo = repositoryOf(this.#o, tenantId, queue);
    const id = newId('mq');
    const change = await resolveChange({ rows: this.rows, tenantId, queue, repo, id }, input);
    if ('duplicate' in change) return change.duplicate;
    const { branch, head } = change;
    const open = await this.rows.entries(tenantId, queue.id, ['queued', 'testing']);
    const deps: EntryRow[] = [];
    for (const dep of input.dependsOn ?? []) {
      const found = await this.rows.entry(tenantId, dep).catch(() => undefined);
      if (found?.queue !== queue.id) {
        throw new StrataError('E_NOT_FOUND', `dependency ${dep} is not an entry of queue ${queue.id}`, {
          dependsOn: dep,
        });
      }
      deps.push(found);
    }
    const files = await repo.changedFiles(queue.mainCommit, head);
    const overlaps = open
      .map((other) => ({ entry: other.id, files: other.files.filter((f) => files.includes(f)) }))
      .filter((o) => o.files.length > 0);
    const stop = await this.halted(tenantId, queue.id);
    const worker = stop ? undefined : await this.worker(tenantId, queue.id);
    const reason = stop ? `submitted; waits: the queue stopped (${stop.reason})` : 'submitted';
    const now = this.#clock.now();
    await this.rows.db.transaction(async (tx) => {
      const seq = await this.rows.nextSeq(tenantId, queue.id, tx);
      await tx.run(
        `INSERT INTO mq_entries (tenant_id, id, queue_id, seq, author, branch, head_commit, priority, depends_on, state,
         reason, files, overlap_warnings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)`,
        [
          ...[tenantId, id, queue.id, seq, input.author, branch, head, input.priority ?? 0],
          ...[
            JSON.stringify(input.dependsOn ?? []),
            reason,
            JSON.stringify(files),
            JSON.stringify(overlaps),
            now,
            now,
          ],
        ],
      );
      await tx.run(
        `INSERT INTO mq_transitions (tenant_id, id, entry_id, from_state, to_state, reason, at) VALUES (?, ?, ?, 'new', 'queued', ?, ?)`,
        [tenantId, newId('mqt'), id, `submitted by ${input.author}`, now],
      );
      await publishEvents(tx, [entryChanged(tenantId, queue.id, id, 'queued')], now);
    });
    const row = await this.rows.entry(tenantId, id);
    if (!worker) return { ...row, duplicate: false }; // picked up by the worker a resume opens
    worker.track(row);
    // Read the dependencies' states again: the worker may have moved them meanwhile.
    const current = await Promise.all(deps.map((d) => this.rows.entry(tenantId, d.id)));
    const dependsOn = current
      .filter((d) => !TERMINAL_STATES.includes(d.state) && worker.engine.has(d.id))
      .map((d) => d.id);
    worker.engine.submit({ id, author: input.author, priority: input.priority ?? 0, dependsOn });
    const dead = current.find((d) => d.state !== 'merged' && !dependsOn.includes(d.id));
    if (dead !== undefined) await worker.rework(id, `depends on ${dead.id}, which is ${dead.state}`);
    void worker.kick();
    return { ...(await this.rows.entry(tenantId, id)), duplicate: false };
  }

  async list(tenantId: string, queue: string, states?: readonly EntryState[]): Promise<EntryRow[]> {
    await this.rows.queue(tenantId, queue);
    return this.rows.entries(tenantId, queue, states);
  }

  async show(tenantId: string, id: string): Promise<EntryDetail> {
    const entry = await this.rows.entry(tenantId, id);
    const checks = await this.rows.checksOf(tenantId, entry.queue, id);
    const failing =
      entry.failedCheck === null ? undefined : await this.rows.check(tenantId, entry.failedCheck);
    return {
      entry,
      history: await this.rows.history(tenantId, id),
      checks,
      failingLog: failing?.log ?? null,
    };
  }

  async cancel(tenantId: string, id: string, reason: string): Promise<EntryRow> {
    const entry = await this.rows.entry(tenantId, id);
    if (await this.halted(tenantId, entry.queue)) {
      // No worker runs it here: the store is the only place the entry lives until a resume.
      if (TERMINAL_STATES.includes(entry.state)) return entry;
      const at = this.#clock.now();
      await this.rows.transitions(tenantId, [
        { entryId: id, from: entry.state, to: 'cancelled', reason, id: newId('mqt'), at },
      ]);
      return this.rows.entry(tenantId, id);
    }
    const worker = await this.worker(tenantId, entry.queue);
    await worker.cancel(id, reason);
    void worker.kick();
    return this.rows.entry(tenantId, id);
  }

  /** Pauses or resumes; resuming a stopped queue opens a new worker (a new token, git reconciled). */
  async setPaused(tenantId: string, queue: string, paused: boolean): Promise<QueueRow> {
    await this.rows.setPaused(tenantId, queue, paused);
    const stop = await this.halted(tenantId, queue);
    if (paused) {
      if (!stop) (await this.worker(tenantId, queue)).engine.pause();
      return this.rows.queue(tenantId, queue);
    }
    if (stop) {
      await this.rows.clearStop(tenantId, queue);
      await this.#drop(tenantId, queue);
    }
    const worker = await this.worker(tenantId, queue);
    worker.engine.resume();
    void worker.kick();
    return this.rows.queue(tenantId, queue);
  }

  stats(tenantId: string, queue: string): Promise<QueueStats> {
    return queueStats(this, tenantId, queue);
  }

  /**
   * Why the queue does not run in this process, or null: the stop recorded in the store, or the
   * failure of this process's worker (E_LEASE_LOST: a newer worker, maybe elsewhere, holds it).
   */
  async halted(tenantId: string, queue: string): Promise<StopInfo | null> {
    const row = await this.rows.queue(tenantId, queue);
    if (row.stopped) return row.stopped;
    return (await this.runningWorker(tenantId, queue))?.stopInfo ?? null;
  }

  /**
   * The queue's worker if this process already runs it, else undefined; never opens one. For reads
   * (stats): opening a worker takes the queue's fencing token, so a dashboard reading figures would
   * take the queue from the process that runs it.
   */
  async runningWorker(tenantId: string, queue: string): Promise<QueueWorker | undefined> {
    return this.#workers.get(`${tenantId}\0${queue}`)?.catch(() => undefined);
  }

  /** The queue's worker in this process (opened, with a fresh fencing token, on first use). */
  worker(tenantId: string, queue: string): Promise<QueueWorker> {
    const key = `${tenantId}\0${queue}`;
    let worker = this.#workers.get(key);
    if (!worker) {
      worker = this.rows.queue(tenantId, queue).then((row) => {
        if (row.stopped) throw stoppedError(queue, row.stopped);
        return QueueWorker.open({
          tenantId,
          queue: row,
          rows: this.rows,
          repo: repositoryOf(this.#o, tenantId, row),
          runner: this.#o.runner,
          clock: this.#clock,
          logger: this.#o.logger ?? silentLogger(),
          concurrency: this.#o.concurrency,
          engine: this.#o.engine,
          onRework: this.#o.onRework,
          metering: this.#o.metering,
        });
      });
      worker.catch(() => this.#workers.delete(key));
      this.#workers.set(key, worker);
    }
    return worker;
  }

  /** Runs a queue until nothing is left to check (tests, the CLI's `--wait`). */
  async idle(tenantId: string, queue: string): Promise<void> {
    const stop = await this.halted(tenantId, queue);
    if (stop) throw stoppedError(queue, stop);
    const worker = await this.worker(tenantId, queue);
    await worker.kick();
    if (worker.failure) throw worker.failure;
  }

  /** Starts the workers of every queue with unfinished entries (after a restart). */
  async resumeAll(tenantIds: readonly string[]): Promise<void> {
    for (const tenantId of tenantIds) {
      for (const queue of await this.rows.queues(tenantId)) {
        if (queue.stopped) continue; // stays stopped until a person resumes it
        if ((await this.rows.entries(tenantId, queue.id, ['queued', 'testing'])).length === 0) continue;
        void (await this.worker(tenantId, queue.id)).kick();
      }
    }
  }

  async #drop(tenantId: string, queue: string): Promise<void> {
    const key = `${tenantId}\0${queue}`;
    const worker = await this.#workers.get(key)?.catch(() => undefined);
    this.#workers.delete(key);
    await worker?.stop();
  }

  async close(): Promise<void> {
    const workers = await Promise.allSettled([...this.#workers.values()]);
    this.#workers.clear();
    for (const w of workers) if (w.status === 'fulfilled') await w.value.stop();
  }
}

function stoppedError(queue: string, stop: StopInfo): StrataError {
  return new StrataError(
    stop.code as StrataErrorCode,
    `merge queue ${queue} stopped: ${stop.reason} (resume it with mq.resume once fixed)`,
    { queue, stopped: stop },
  );
}
