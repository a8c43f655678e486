/**
 * @module orchestration/start-batcher
 * Group commit for run starts on PostgreSQL. Starts made in the same turn of the event loop (many
 * callers starting runs at once) are inserted by one statement with one NOTIFY and one commit,
 * instead of one commit each. Each start resolves only after its commit, with its own row, or with
 * `undefined` when its idempotency key was already taken (by an earlier run or by another start in
 * the same batch: the caller then reads the run that holds the key, as a single start would). The
 * batch's `run:changed` events are published by the same statement.
 */
import type { SqlValue, Store } from '../kernel/index.ts';
import { publishingRunChanges } from './run-events.ts';
import type { RunRow } from './run-row.ts';

interface Pending {
  readonly id: string;
  readonly values: readonly SqlValue[];
  readonly resolve: (row: RunRow | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/** Rows per statement: 17 params each, well under PostgreSQL's bound-parameter limit. */
const MAX_BATCH = 500;

export class StartBatcher {
  readonly #store: Store;
  /** `INSERT INTO orch_runs (…)`, the marks of one row, the ON CONFLICT clause, the NOTIFY channel. */
  readonly #sql: { insert: string; marks: string; onConflict: string; channel: string };
  readonly #now: () => number;
  /** Called after a batch published events (the bus then dispatches them to subscribers). */
  readonly #published: () => void;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(
    store: Store,
    sql: { insert: string; marks: string; onConflict: string; channel: string },
    events: { now: () => number; published: () => void },
  ) {
    this.#store = store;
    this.#sql = sql;
    this.#now = events.now;
    this.#published = events.published;
  }

  start(id: string, values: readonly SqlValue[]): Promise<RunRow | undefined> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ id, values, resolve, reject });
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
      const { insert, marks, onConflict, channel } = this.#sql;
      try {
        // ON CONFLICT DO NOTHING also skips a row whose key an earlier row of the same statement took.
        // The rows, their `run:changed` events and the NOTIFY: one statement, one commit.
        const rows = await this.#store.all<RunRow>(
          publishingRunChanges(
            `${insert} VALUES ${batch.map(() => marks).join(', ')} ${onConflict} RETURNING *`,
            `SELECT changed.*, pg_notify(?, '') AS notified FROM changed`,
          ),
          [...batch.flatMap((p) => p.values), this.#now(), channel],
        );
        this.#published();
        const byId = new Map(rows.map((r) => [r.id, r]));
        for (const p of batch) p.resolve(byId.get(p.id));
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  }
}
