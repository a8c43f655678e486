/**
 * @module orchestration/completions
 * Group commit for run completions. Runs that finish in the same turn of the event loop are
 * recorded by one fenced UPDATE … FROM (VALUES …) and one commit, instead of one commit each: the
 * commit (an fsync on PostgreSQL) is what bounds short runs. Each completion still resolves only
 * after its commit, so nothing is reported done before it is durable. The batch's `run:changed`
 * events are written by the same statement (PostgreSQL) or its triggers (SQLite).
 */
import type { Engine } from './engine.ts';
import { publishingRunChanges, RUN_CHANGE_COLUMNS, type RunChangeRow } from './run-events.ts';

interface Pending {
  readonly id: string;
  readonly output: string;
  readonly finishedAt: number;
  readonly resolve: (fenced: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/** Rows per statement: well under both engines' bound-parameter limits. */
const MAX_BATCH = 500;

export class CompletionBatcher {
  readonly #engine: Pick<Engine, 'store' | 'clock' | 'events'>;
  readonly #workerId: string;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(engine: Pick<Engine, 'store' | 'clock' | 'events'>, workerId: string) {
    this.#engine = engine;
    this.#workerId = workerId;
  }

  /** Records a completion; resolves `false` if this worker no longer held the run's lease. */
  complete(id: string, output: string, finishedAt: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ id, output, finishedAt, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_BATCH);
      try {
        const values = batch.map(() => '(?, ?, CAST(? AS BIGINT))').join(', ');
        const columns = RUN_CHANGE_COLUMNS.split(', ').map((c) => `orch_runs.${c}`);
        const update = `UPDATE orch_runs SET status = 'completed', output = v.column2, finished_at = v.column3,
             updated_at = v.column3, lease_owner = NULL, lease_expires_at = NULL
           FROM (VALUES ${values}) AS v
           WHERE orch_runs.id = v.column1 AND orch_runs.lease_owner = ? AND orch_runs.status = 'running'
           RETURNING ${columns.join(', ')}`;
        const params = [...batch.flatMap((p) => [p.id, p.output, p.finishedAt]), this.#workerId];
        // PostgreSQL: the completions and their events in one statement; SQLite: its triggers publish.
        const done =
          this.#engine.store.dialect === 'postgres'
            ? await this.#engine.store.all<RunChangeRow>(publishingRunChanges(update), [
                ...params,
                this.#engine.clock.now(),
              ])
            : await this.#engine.store.all<RunChangeRow>(update, params);
        if (done.length > 0) this.#engine.events.poke();
        const fenced = new Set(done.map((r) => r.id));
        for (const p of batch) p.resolve(fenced.has(p.id));
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  }
}
