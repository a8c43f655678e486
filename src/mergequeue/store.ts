/**
 * @module mergequeue/store
 * Rows of the merge queue and the SQL that reads and writes them (same SQL on both dialects).
 * The fencing rule lives here: {@link QueueStore.advance} moves main only while the caller's token
 * is still the queue's current one and main is still where the caller saw it.
 */
import { StrataError, type Queryable, type Store } from '../kernel/index.ts';
import type { EntryState, Transition } from './types.ts';

export interface QueueRow {
  readonly id: string;
  readonly repository: string;
  readonly target: string;
  readonly checkCommand: string;
  readonly checkTimeoutMs: number;
  readonly runtimes: readonly string[];
  readonly batch: { readonly min: number; readonly max: number };
  readonly paused: boolean;
  readonly mainVersion: number;
  readonly mainCommit: string;
  readonly fence: number;
  readonly createdAt: number;
}

export interface EntryRow {
  readonly id: string;
  readonly queue: string;
  readonly seq: number;
  readonly author: string;
  readonly branch: string;
  readonly headCommit: string;
  readonly priority: number;
  readonly dependsOn: readonly string[];
  readonly state: EntryState;
  readonly reason: string;
  readonly files: readonly string[];
  /** Other queued entries touching the same files when this one was submitted (early warning). */
  readonly overlaps: readonly { readonly entry: string; readonly files: readonly string[] }[];
  readonly conflictFiles: readonly string[] | null;
  readonly failedCheck: string | null;
  readonly mergedCommit: string | null;
  readonly checks: number;
  readonly checkMs: number;
  readonly createdAt: number;
  readonly finishedAt: number | null;
}

export interface CheckRow {
  readonly id: string;
  readonly purpose: string;
  readonly tree: readonly string[];
  readonly version: number;
  readonly commit: string | null;
  readonly outcome: 'pass' | 'fail' | null;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly log: string | null;
  readonly startedAt: number;
  readonly durationMs: number | null;
}

type Raw = Record<string, unknown>;
const num = (v: unknown): number => Number(v);
const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

const queueOf = (r: Raw): QueueRow => ({
  id: String(r['id']),
  repository: String(r['repository']),
  target: String(r['target']),
  checkCommand: String(r['check_command']),
  checkTimeoutMs: num(r['check_timeout_ms']),
  runtimes: json<string[]>(r['runtimes']),
  batch: { min: num(r['batch_min']), max: num(r['batch_max']) },
  paused: num(r['paused']) === 1,
  mainVersion: num(r['main_version']),
  mainCommit: String(r['main_commit']),
  fence: num(r['fence']),
  createdAt: num(r['created_at']),
});

const entryOf = (r: Raw): EntryRow => ({
  id: String(r['id']),
  queue: String(r['queue_id']),
  seq: num(r['seq']),
  author: String(r['author']),
  branch: String(r['branch']),
  headCommit: String(r['head_commit']),
  priority: num(r['priority']),
  dependsOn: json<string[]>(r['depends_on']),
  state: String(r['state']) as EntryState,
  reason: String(r['reason']),
  files: json<string[]>(r['files']),
  overlaps: json<EntryRow['overlaps']>(r['overlap_warnings']),
  conflictFiles: r['conflict_files'] == null ? null : json<string[]>(r['conflict_files']),
  failedCheck: text(r['failed_check']),
  mergedCommit: text(r['merged_commit']),
  checks: num(r['checks']),
  checkMs: num(r['check_ms']),
  createdAt: num(r['created_at']),
  finishedAt: r['finished_at'] == null ? null : num(r['finished_at']),
});

const checkOf = (r: Raw): CheckRow => ({
  id: String(r['id']),
  purpose: String(r['purpose']),
  tree: json<string[]>(r['tree']),
  version: num(r['version']),
  commit: text(r['commit_sha']),
  outcome: text(r['outcome']) as 'pass' | 'fail' | null,
  exitCode: r['exit_code'] == null ? null : num(r['exit_code']),
  timedOut: num(r['timed_out']) === 1,
  log: text(r['log']),
  startedAt: num(r['started_at']),
  durationMs: r['duration_ms'] == null ? null : num(r['duration_ms']),
});

export class QueueStore {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  get db(): Store {
    return this.#store;
  }

  async queue(tenant: string, id: string): Promise<QueueRow> {
    const row = await this.#store.get('SELECT * FROM mq_queues WHERE tenant_id = ? AND id = ?', [tenant, id]);
    if (!row)
      throw new StrataError('E_NOT_FOUND', `no merge queue ${id}; create it with mq.configure`, {
        queue: id,
      });
    return queueOf(row);
  }

  async queues(tenant: string): Promise<QueueRow[]> {
    return (await this.#store.all('SELECT * FROM mq_queues WHERE tenant_id = ? ORDER BY id', [tenant])).map(
      queueOf,
    );
  }

  /** Bumps the fencing token: the caller becomes the only worker allowed to move main. */
  async takeFence(tenant: string, queue: string): Promise<number> {
    await this.#store.run('UPDATE mq_queues SET fence = fence + 1 WHERE tenant_id = ? AND id = ?', [
      tenant,
      queue,
    ]);
    return (await this.queue(tenant, queue)).fence;
  }

  /**
   * Records main's move from `from` to `next` under `fence`; false when another worker holds a newer
   * token or main is no longer at `from` (the stale writer must stop, not push).
   */
  async advance(
    tenant: string,
    move: {
      queue: string;
      fence: number;
      from: string;
      next: string;
      version: number;
      check: string;
      at: number;
    },
  ): Promise<boolean> {
    return this.#store.transaction(async (tx) => {
      const changed = await tx.run(
        `UPDATE mq_queues SET main_commit = ?, main_version = ?, updated_at = ?
         WHERE tenant_id = ? AND id = ? AND fence = ? AND main_commit = ?`,
        [move.next, move.version, move.at, tenant, move.queue, move.fence, move.from],
      );
      if (changed.changes !== 1) return false;
      await tx.run(
        'INSERT INTO mq_advances (tenant_id, queue_id, version, commit_sha, check_id, fence, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [tenant, move.queue, move.version, move.next, move.check, move.fence, move.at],
      );
      return true;
    });
  }

  /** Takes back a recorded move that git then refused (same fence, main still at `next`). */
  async unadvance(
    tenant: string,
    move: { queue: string; fence: number; from: string; next: string; version: number },
  ): Promise<void> {
    await this.#store.transaction(async (tx) => {
      const changed = await tx.run(
        `UPDATE mq_queues SET main_commit = ?, main_version = ? WHERE tenant_id = ? AND id = ? AND fence = ? AND main_commit = ?`,
        [move.from, move.version - 1, tenant, move.queue, move.fence, move.next],
      );
      if (changed.changes !== 1) return;
      await tx.run('DELETE FROM mq_advances WHERE tenant_id = ? AND queue_id = ? AND version = ?', [
        tenant,
        move.queue,
        move.version,
      ]);
    });
  }

  async versions(tenant: string, queue: string): Promise<Map<number, string>> {
    const rows = await this.#store.all(
      'SELECT version, commit_sha FROM mq_advances WHERE tenant_id = ? AND queue_id = ? ORDER BY version',
      [tenant, queue],
    );
    return new Map(rows.map((r) => [num(r['version']), String(r['commit_sha'])]));
  }

  async setPaused(tenant: string, queue: string, paused: boolean): Promise<void> {
    await this.queue(tenant, queue);
    await this.#store.run('UPDATE mq_queues SET paused = ? WHERE tenant_id = ? AND id = ?', [
      paused ? 1 : 0,
      tenant,
      queue,
    ]);
  }

  async entry(tenant: string, id: string, q: Queryable = this.#store): Promise<EntryRow> {
    const row = await q.get('SELECT * FROM mq_entries WHERE tenant_id = ? AND id = ?', [tenant, id]);
    if (!row) throw new StrataError('E_NOT_FOUND', `no merge queue entry ${id}`, { id });
    return entryOf(row);
  }

  async entryByChange(
    tenant: string,
    change: { queue: string; branch: string; head: string },
  ): Promise<EntryRow | undefined> {
    const row = await this.#store.get(
      'SELECT * FROM mq_entries WHERE tenant_id = ? AND queue_id = ? AND branch = ? AND head_commit = ?',
      [tenant, change.queue, change.branch, change.head],
    );
    return row ? entryOf(row) : undefined;
  }

  async entries(tenant: string, queue: string, states?: readonly EntryState[]): Promise<EntryRow[]> {
    const rows = await this.#store.all(
      'SELECT * FROM mq_entries WHERE tenant_id = ? AND queue_id = ? ORDER BY seq',
      [tenant, queue],
    );
    return rows.map(entryOf).filter((e) => !states || states.includes(e.state));
  }

  async nextSeq(tenant: string, queue: string, q: Queryable = this.#store): Promise<number> {
    const row = await q.get('SELECT MAX(seq) AS m FROM mq_entries WHERE tenant_id = ? AND queue_id = ?', [
      tenant,
      queue,
    ]);
    return num(row?.['m'] ?? 0) + 1;
  }

  /** Applies engine transitions: the entry's state and reason, plus one history row each. */
  async transitions(
    tenant: string,
    list: readonly (Transition & { id: string; at: number })[],
  ): Promise<void> {
    if (list.length === 0) return;
    await this.#store.transaction(async (tx) => {
      for (const t of list) {
        const terminal = t.to !== 'queued' && t.to !== 'testing';
        await tx.run(
          `UPDATE mq_entries SET state = ?, reason = ?, updated_at = ?, finished_at = ? WHERE tenant_id = ? AND id = ?`,
          [t.to, t.reason, t.at, terminal ? t.at : null, tenant, t.entryId],
        );
        await tx.run(
          'INSERT INTO mq_transitions (tenant_id, id, entry_id, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [tenant, t.id, t.entryId, t.from, t.to, t.reason, t.at],
        );
      }
    });
  }

  async history(
    tenant: string,
    entry: string,
  ): Promise<{ from: string; to: string; reason: string; at: number }[]> {
    const rows = await this.#store.all(
      'SELECT from_state, to_state, reason, at FROM mq_transitions WHERE tenant_id = ? AND entry_id = ? ORDER BY at, id',
      [tenant, entry],
    );
    return rows.map((r) => ({
      from: String(r['from_state']),
      to: String(r['to_state']),
      reason: String(r['reason']),
      at: num(r['at']),
    }));
  }

  async check(tenant: string, id: string): Promise<CheckRow | undefined> {
    const row = await this.#store.get('SELECT * FROM mq_checks WHERE tenant_id = ? AND id = ?', [tenant, id]);
    return row ? checkOf(row) : undefined;
  }

  /** Checks whose tree held the entry, oldest first. */
  async checksOf(tenant: string, queue: string, entry: string): Promise<CheckRow[]> {
    const rows = await this.#store.all(
      'SELECT * FROM mq_checks WHERE tenant_id = ? AND queue_id = ? AND tree LIKE ? ORDER BY started_at, id',
      [tenant, queue, `%${JSON.stringify(entry)}%`],
    );
    return rows.map(checkOf);
  }

  async checks(tenant: string, queue: string): Promise<CheckRow[]> {
    const rows = await this.#store.all(
      'SELECT * FROM mq_checks WHERE tenant_id = ? AND queue_id = ? ORDER BY started_at, id',
      [tenant, queue],
    );
    return rows.map(checkOf);
  }
}
