/**
 * @module mergequeue/worker
 * Drives one queue: asks the engine for checks, builds each check's commit with git (a conflict
 * sends the entry to rework with its files), runs the check in a sandbox, reports the outcome and
 * applies the advances of main the engine allows — each one fenced in the store first (a worker
 * whose token is stale is refused and stops), then a compare-and-swap of the branch in git, so two
 * workers can never both push. Its entry transitions are fenced too: a stale worker is refused at
 * its first write and stops before it starts another sandbox. A stopped worker never runs again.
 *
 * Restart: a new worker takes a new fencing token, reconciles git with the store (a push that was
 * recorded but not yet made is finished: its commit passed its check), marks merged the entries
 * of recorded moves, and re-queues entries that were under test: their checks are run again.
 */
import { coerceError, newId, StrataError, type Clock, type Logger } from '../kernel/index.ts';
import { QueueEngine, type QueueEngineOptions } from './engine.ts';
import type { GitRepository } from './git.ts';
import type { CheckMetering } from './metering.ts';
import { mergedBy, reconcileGit } from './restart.ts';
import { runQueueCheck, type CheckRun, type CheckRunner } from './runner.ts';
import type { EntryRow, QueueRow, QueueStore, StopInfo } from './store.ts';
import type { CheckRequest, Transition } from './types.ts';

export interface ReworkEvent {
  readonly tenantId: string;
  readonly queue: string;
  readonly entry: string;
  readonly author: string;
  readonly branch: string;
  readonly reason: string;
  /** Conflicting files, when a conflict caused it. */
  readonly files: readonly string[];
}

export interface QueueWorkerOptions {
  readonly tenantId: string;
  readonly queue: QueueRow;
  readonly rows: QueueStore;
  readonly repo: GitRepository;
  readonly runner: CheckRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Checks running at once. @default 2 */
  readonly concurrency?: number;
  readonly engine?: Pick<QueueEngineOptions, 'window' | 'jumpAhead'>;
  readonly onRework?: (event: ReworkEvent) => void | Promise<void>;
  /** Bills each check's sandbox time to the authors of its changes (`metering.ts`). */
  readonly metering?: CheckMetering;
}

export class QueueWorker {
  readonly engine: QueueEngine;
  readonly #o: QueueWorkerOptions;
  readonly #versions: Map<number, string>;
  readonly #commits = new Map<string, string>();
  readonly #running = new Map<string, Promise<{ check: string; run: CheckRun }>>();
  readonly #heads = new Map<string, EntryRow>();
  readonly #pending: Transition[] = [];
  readonly #conflicts = new Map<string, readonly string[]>();
  /** Entry → the commit of main that merged it, written with the entry's `merged` transition. */
  readonly #merged = new Map<string, string>();
  #fence = 0;
  #pump: Promise<void> | undefined;
  #stopped = false;
  /** Set when the worker stopped on an error (stale fence, main moved outside the queue). */
  failure: StrataError | undefined;
  /** The failure as the queue's status shows it; a stopped worker never runs again. */
  stopInfo: StopInfo | undefined;

  private constructor(options: QueueWorkerOptions, versions: Map<number, string>) {
    this.#o = options;
    this.#versions = versions;
    this.engine = new QueueEngine({
      ...options.engine,
      batch: options.queue.batch,
      newCheckId: () => newId('mqc'),
      onTransition: (t) => this.#pending.push(t),
    });
  }

  static async open(options: QueueWorkerOptions): Promise<QueueWorker> {
    const { rows, tenantId, queue, clock } = options;
    const fence = await rows.takeFence(tenantId, queue.id);
    const fresh = await rows.queue(tenantId, queue.id);
    const worker = new QueueWorker({ ...options, queue: fresh }, await rows.versions(tenantId, queue.id));
    worker.#fence = fence;
    await reconcileGit(options.repo, fresh).catch(async (error: unknown) => {
      await worker.#recordStop(error);
      throw error;
    });
    worker.engine.setVersion(fresh.mainVersion);
    if (fresh.paused) worker.engine.pause();
    const entries = await rows.entries(tenantId, queue.id);
    // Batch sizes adapt to the culprit rate: a restarted queue goes on from the rate it had seen.
    const decided = entries
      .filter((e) => e.state === 'merged' || (e.state === 'rejected' && e.failedCheck !== null))
      .sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    worker.engine.recall(decided.map((e) => e.state === 'rejected'));
    // Entries in the tree of a recorded move of main merged with it, even if the worker that moved
    // main stopped before it said so: testing them again would advance main twice for one change.
    const open = entries.filter((e) => e.state === 'queued' || e.state === 'testing');
    const since = Math.min(clock.now(), ...open.map((e) => e.createdAt));
    const merged = mergedBy(await rows.advancedTrees(tenantId, queue.id, since));
    const state = new Map(entries.map((e) => [e.id, merged.has(e.id) ? 'merged' : e.state]));
    for (const entry of open) {
      const commit = merged.get(entry.id);
      if (commit !== undefined) {
        worker.#pending.push({
          entryId: entry.id,
          from: entry.state,
          to: 'merged',
          reason: 'merged by a recorded move of main (finished at restart)',
        });
        worker.#merged.set(entry.id, commit);
        continue;
      }
      worker.#heads.set(entry.id, entry);
      const live = entry.dependsOn.filter((d) => state.get(d) === 'queued' || state.get(d) === 'testing');
      const dead = entry.dependsOn.find((d) => state.get(d) !== 'merged' && !live.includes(d));
      worker.engine.submit({ id: entry.id, author: entry.author, priority: entry.priority, dependsOn: live });
      if (dead !== undefined) worker.engine.rework(entry.id, `depends on ${dead}, which will not merge`);
      else if (entry.state === 'testing') {
        worker.#pending.push({
          entryId: entry.id,
          from: 'testing',
          to: 'queued',
          reason: 'worker restarted; tested again',
        });
      }
    }
    await worker.#flush();
    return worker;
  }

  get fence(): number {
    return this.#fence;
  }

  track(entry: EntryRow): void {
    this.#heads.set(entry.id, entry);
  }

  /** Starts the loop unless it runs; resolves when the queue is idle (nothing to run). */
  kick(): Promise<void> {
    this.#pump ??= this.#loop().finally(() => {
      this.#pump = undefined;
    });
    return this.#pump;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.allSettled([...this.#running.values()]);
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      try {
        const requests = this.engine.next();
        await this.#flush(); // a stale worker learns it here, before it starts any sandbox
        for (const request of requests) await this.#start(request);
        await this.#flush();
        if (this.#running.size === 0) {
          if (requests.length === 0) return;
          continue;
        }
        const { check, run } = await Promise.race(this.#running.values());
        this.#running.delete(check);
        await this.#finish(check, run);
      } catch (error) {
        this.#stopped = true;
        await this.#recordStop(error);
        this.#o.logger.error({ queue: this.#o.queue.id, err: error }, 'merge queue worker stopped');
      }
    }
  }

  /**
   * Sets `failure` and records it as the queue's stop reason, which survives restarts — unless the
   * worker lost the queue to a newer one (E_LEASE_LOST: the queue did not stop, only this worker
   * did) or the failure is transient (retryable: the store or git briefly unavailable), which stops
   * this worker only, so a restart of the process may run the queue again.
   */
  async #recordStop(error: unknown): Promise<void> {
    const failure = coerceError(error);
    const { rows, tenantId, queue, clock } = this.#o;
    const why = { code: failure.code, reason: failure.message, at: clock.now() };
    this.failure = failure;
    this.stopInfo = why;
    this.#stopped = true;
    if (failure.code === 'E_LEASE_LOST' || failure.retryable) return;
    await rows.stop(tenantId, queue.id, this.#fence, why).catch((e: unknown) => {
      this.#o.logger.warn({ queue: queue.id, err: e }, 'could not record why the merge queue stopped');
    });
  }

  async rework(id: string, reason: string): Promise<void> {
    this.engine.rework(id, reason);
    await this.#flush();
  }

  async cancel(id: string, reason: string): Promise<void> {
    this.engine.cancel(id, reason);
    await this.#flush();
  }

  async #start(request: CheckRequest): Promise<void> {
    if (!this.engine.isLive(request.id)) return;
    const { rows, tenantId, queue, repo, clock } = this.#o;
    const base =
      'version' in request.base
        ? this.#versions.get(request.base.version)
        : this.#commits.get(request.base.check);
    if (base === undefined)
      throw new StrataError('E_INTERNAL', `no commit for the base of check ${request.id}`);
    const heads = request.entries.map((entry) => ({
      entry,
      commit: (this.#heads.get(entry) as EntryRow).headCommit,
    }));
    const branches = request.entries.map((e) => this.#heads.get(e)?.branch ?? e).join(', ');
    const merged = await repo.mergeAll(base, heads, `Merge queue: ${branches}\n\nChecked by ${request.id}.`);
    if (!merged.ok) {
      this.#conflicts.set(merged.entry, merged.files);
      this.engine.conflict(request.id, merged.entry, merged.files);
      return;
    }
    this.#commits.set(request.id, merged.commit);
    await rows.startCheck(tenantId, { ...request, queue: queue.id, commit: merged.commit, at: clock.now() });
    const { checkCommand: command, checkTimeoutMs: timeoutMs, runtimes, network } = queue;
    const job = { tenantId, command, timeoutMs, runtimes, network };
    const run = runQueueCheck(this.#o.runner, job, () => repo.archive(merged.commit));
    this.#running.set(
      request.id,
      run.then((result) => ({ check: request.id, run: result })),
    );
  }

  async #meter(check: string, run: CheckRun): Promise<void> {
    const { metering, rows, tenantId, queue, clock } = this.#o;
    const tree = metering ? ((await rows.check(tenantId, check))?.tree ?? []) : [];
    const entries = tree.map((id) => ({ id, author: this.#heads.get(id)?.author ?? 'unknown' }));
    await metering?.record(tenantId, {
      queue: queue.id,
      check,
      entries,
      durationMs: run.durationMs,
      at: clock.now(),
    });
  }

  async #finish(check: string, run: CheckRun): Promise<void> {
    const { rows, tenantId, queue, repo, clock } = this.#o;
    await rows.finishCheck(tenantId, check, run);
    await this.#meter(check, run);
    for (const advance of this.engine.report(check, run.ok ? 'pass' : 'fail')) {
      const next = this.#commits.get(advance.check) as string;
      const from = this.#versions.get(advance.from) as string;
      await this.#fastForward(from, next);
      const move = {
        queue: queue.id,
        fence: this.#fence,
        from,
        next,
        version: advance.to,
        check: advance.check,
        at: clock.now(),
      };
      if (!(await rows.advance(tenantId, move))) {
        throw new StrataError(
          'E_LEASE_LOST',
          `another worker holds merge queue ${queue.id}; this one stops without pushing`,
        );
      }
      if (!(await repo.compareAndSwap(queue.target, next, from))) {
        if ((await repo.branchCommit(queue.target)) === next) {
          // A newer worker found our recorded move at its start and finished it: the move stands.
          throw new StrataError(
            'E_LEASE_LOST',
            `another worker took merge queue ${queue.id} and finished its push`,
          );
        }
        await rows.unadvance(tenantId, move); // git refused: the store must not claim the move
        await this.#fastForward(from, next);
        throw new StrataError('E_CONFLICT', `${queue.target} moved while the queue pushed; the queue stops`);
      }
      this.#versions.set(advance.to, next);
      for (const id of advance.merged) this.#merged.set(id, next);
    }
    await this.#flush();
  }

  /** Refuses, before anything is recorded, a move that would not be a fast-forward of the branch. */
  async #fastForward(from: string, next: string): Promise<void> {
    const { repo, queue } = this.#o;
    const onGit = await repo.branchCommit(queue.target);
    if (onGit === from && (await repo.isAncestor(from, next))) return;
    throw new StrataError(
      'E_NOT_FAST_FORWARD',
      `${queue.target} is at ${onGit.slice(0, 12)}, not at ${from.slice(0, 12)} where the queue left it: moving it would not be a fast-forward. The queue stops; move ${queue.target} back to ${from.slice(0, 12)} and restart it.`,
      { branch: queue.target, found: onGit, expected: from },
    );
  }

  async #flush(): Promise<void> {
    const list = this.#pending.splice(0);
    const { rows, tenantId, queue, clock } = this.#o;
    const at = clock.now();
    const fenced = { queue: queue.id, fence: this.#fence };
    await rows.transitions(
      tenantId,
      list.map((t) => ({ ...t, id: newId('mqt'), at })),
      fenced,
    );
    for (const t of list) {
      const commit = t.to === 'merged' ? this.#merged.get(t.entryId) : undefined;
      if (commit !== undefined) {
        this.#merged.delete(t.entryId);
        await rows.db.run('UPDATE mq_entries SET merged_commit = ? WHERE tenant_id = ? AND id = ?', [
          commit,
          tenantId,
          t.entryId,
        ]);
      }
      if (t.to === 'rejected') {
        const failed = this.engine.entry(t.entryId).failedCheck;
        await rows.db.run('UPDATE mq_entries SET failed_check = ? WHERE tenant_id = ? AND id = ?', [
          failed,
          tenantId,
          t.entryId,
        ]);
      }
      if (t.to !== 'needs_rework') continue;
      const files = this.#conflicts.get(t.entryId) ?? [];
      if (files.length > 0) {
        await rows.db.run('UPDATE mq_entries SET conflict_files = ? WHERE tenant_id = ? AND id = ?', [
          JSON.stringify(files),
          tenantId,
          t.entryId,
        ]);
      }
      const entry = this.#heads.get(t.entryId);
      const event = {
        tenantId,
        queue: queue.id,
        entry: t.entryId,
        author: entry?.author ?? '',
        branch: entry?.branch ?? '',
        reason: t.reason,
        files,
      };
      await Promise.resolve(this.#o.onRework?.(event)).catch((error: unknown) =>
        this.#o.logger.warn({ entry: t.entryId, err: error }, 'rework hook failed'),
      );
    }
  }
}
