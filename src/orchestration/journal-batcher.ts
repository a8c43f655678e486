/**
 * @module orchestration/journal-batcher
 * Group commit for journal entries on PostgreSQL. Steps of different runs that finish in the same
 * turn of the event loop are journaled by one statement and one commit instead of one each: the
 * commit (an fsync) is what bounds short steps. The statement is fenced per run like a single write:
 * it takes the row lock of every run it writes for, and writes an entry only for runs this worker
 * still leases (`lease_owner`, status `running`), so a worker that lost a lease writes nothing for
 * that run. Each entry resolves only after its commit, so a workflow never moves past a step whose
 * result is not durable.
 */
import type { JournalRow } from './run-row.ts';
import type { Store } from '../kernel/index.ts';

export type JournalWrite = JournalRow;

interface Pending {
  readonly entry: JournalWrite;
  readonly resolve: (fenced: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/** Entries per statement: 11 params each, well under PostgreSQL's 65,535 bound parameters. */
const MAX_BATCH = 400;

const COLUMNS = 'run_id, seq, kind, name, status, output, error, wake_at, attempts, started_at, finished_at';
const ROW_MARKS =
  '(CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), ' +
  'CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS BIGINT))';

export class JournalBatcher {
  readonly #store: Store;
  readonly #workerId: string;
  readonly #now: () => number;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(store: Store, workerId: string, now: () => number) {
    this.#store = store;
    this.#workerId = workerId;
    this.#now = now;
  }

  /** Journals an entry; resolves `false` (nothing written) if this worker no longer leases the run. */
  write(entry: JournalWrite): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ entry, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    while (this.#pending.length > 0) {
      const batch = this.#take();
      try {
        const written = await this.#store.all<{ run_id: string; seq: number }>(
          statement(batch.length, new Set(batch.map((p) => p.entry.run_id)).size),
          params(batch, this.#now(), this.#workerId),
        );
        const done = new Set(written.map((w) => `${w.run_id}\u0000${w.seq}`));
        for (const p of batch) p.resolve(done.has(`${p.entry.run_id}\u0000${p.entry.seq}`));
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  }

  /** The next batch: one entry per (run, seq), since one statement cannot upsert a row twice. */
  #take(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const keys = new Set<string>();
    for (const p of this.#pending) {
      const key = `${p.entry.run_id}\u0000${p.entry.seq}`;
      if (batch.length >= MAX_BATCH || keys.has(key)) rest.push(p);
      else {
        keys.add(key);
        batch.push(p);
      }
    }
    this.#pending = rest;
    // Ascending run ids: the fence locks rows in index order, as lease renewals do (no deadlock).
    return batch.sort((a, b) =>
      a.entry.run_id < b.entry.run_id ? -1 : a.entry.run_id > b.entry.run_id ? 1 : 0,
    );
  }
}

function statement(entries: number, runs: number): string {
  const marks = (n: number, mark: string): string => Array.from({ length: n }, () => mark).join(', ');
  return `WITH v (${COLUMNS}) AS (VALUES ${marks(entries, ROW_MARKS)}),
    held AS (
      UPDATE orch_runs SET updated_at = ?
      WHERE id IN (${marks(runs, '?')}) AND lease_owner = ? AND status = 'running' RETURNING id)
  INSERT INTO orch_journal (${COLUMNS})
  SELECT v.* FROM v JOIN held ON held.id = v.run_id
  ON CONFLICT (run_id, seq) DO UPDATE SET status = excluded.status, output = excluded.output,
    error = excluded.error, attempts = excluded.attempts, finished_at = excluded.finished_at
  RETURNING run_id, seq`;
}

function params(batch: readonly Pending[], now: number, workerId: string): (string | number | null)[] {
  const values = batch.flatMap(({ entry: e }) => [
    e.run_id,
    e.seq,
    e.kind,
    e.name,
    e.status,
    e.output,
    e.error,
    e.wake_at,
    e.attempts,
    e.started_at,
    e.finished_at,
  ]);
  const runs = [...new Set(batch.map((p) => p.entry.run_id))];
  return [...values, now, ...runs, workerId];
}
