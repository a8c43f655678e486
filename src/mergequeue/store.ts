/**
 * @module mergequeue/store
 * Rows of the merge queue and the SQL that reads and writes them (same SQL on both dialects).
 * The fencing rule lives here: {@link QueueStore.advance} moves main only while the caller's token
 * is still the queue's current one and main is still where the caller saw it; a worker's entry
 * transitions are fenced the same way, so a stale worker cannot rewrite what the current one did.
 */
import { publishEvents, StrataError, type NewEvent, type Queryable, type Store } from '../kernel/index.ts';
import {
  checkOf,
  entryOf,
  json,
  num,
  queueOf,
  type CheckRow,
  type EntryRow,
  type QueueRow,
  type StopInfo,
} from './rows.ts';
import type { CheckRun } from './runner.ts';
import type { EntryState, Transition } from './types.ts';

export type { CheckRow, EntryRow, QueueRow, StopInfo } from './rows.ts';

/** `mq:changed` `{ queue, entryId, state }`: an entry was submitted or changed state. */
export function entryChanged(tenant: string, queue: string, entryId: string, state: EntryState): NewEvent {
  return { topic: 'mq:changed', tenantId: tenant, payload: { queue, entryId, state } };
}

/** `mq:queue` `{ queue, stopped }`: the queue stopped (`stopped`: its stop code) or was resumed (null). */
function publishQueueChanged(
  q: Queryable,
  tenant: string,
  change: { queue: string; stopped: string | null },
  now: number,
): Promise<number> {
  return publishEvents(q, [{ topic: 'mq:queue', tenantId: tenant, payload: change }], now);
}

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

  /**
   * Bumps the fencing token: the caller becomes the only worker allowed to move main. One
   * statement returns the new value, so two workers taking the queue at once get distinct tokens
   * (an UPDATE then a SELECT could hand both the later one).
   */
  async takeFence(tenant: string, queue: string): Promise<number> {
    const row = await this.#store.get(
      'UPDATE mq_queues SET fence = fence + 1 WHERE tenant_id = ? AND id = ? RETURNING fence',
      [tenant, queue],
    );
    if (!row) await this.queue(tenant, queue); // E_NOT_FOUND
    return num(row?.['fence']);
  }

  /**
   * Throws E_LEASE_LOST unless `fence` is still the queue's token. Inside a transaction the UPDATE
   * locks the queue row (PostgreSQL), so a newer worker's {@link takeFence} waits for the commit.
   */
  async #holds(tx: Queryable, tenant: string, queue: string, fence: number): Promise<void> {
    const held = await tx.run(
      'UPDATE mq_queues SET fence = fence WHERE tenant_id = ? AND id = ? AND fence = ?',
      [tenant, queue, fence],
    );
    if (held.changes !== 1) {
      throw new StrataError('E_LEASE_LOST', `another worker holds merge queue ${queue}; this one stops`, {
        queue,
        fence,
      });
    }
  }

  /** Records why the queue stopped, unless a newer worker holds it (then the queue did not stop). */
  async stop(tenant: string, queue: string, fence: number, why: StopInfo): Promise<void> {
    await this.#store.transaction(async (tx) => {
      const stopped = await tx.run(
        'UPDATE mq_queues SET stopped_code = ?, stopped_reason = ?, stopped_at = ? WHERE tenant_id = ? AND id = ? AND fence = ?',
        [why.code, why.reason, why.at, tenant, queue, fence],
      );
      if (stopped.changes === 1) await publishQueueChanged(tx, tenant, { queue, stopped: why.code }, why.at);
    });
  }

  /** A person resumed the queue: the next worker may run it. */
  async clearStop(tenant: string, queue: string): Promise<void> {
    await this.#store.transaction(async (tx) => {
      const resumed = await tx.run(
        `UPDATE mq_queues SET stopped_code = NULL, stopped_reason = NULL, stopped_at = NULL
         WHERE tenant_id = ? AND id = ? AND stopped_code IS NOT NULL`,
        [tenant, queue],
      );
      if (resumed.changes === 1) await publishQueueChanged(tx, tenant, { queue, stopped: null }, Date.now());
    });
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

  /** Main's moves since `since` with the entries of the check each one passed (merged by it). */
  async advancedTrees(
    tenant: string,
    queue: string,
    since: number,
  ): Promise<{ commit: string; tree: string[] }[]> {
    const rows = await this.#store.all(
      `SELECT a.commit_sha, c.tree FROM mq_advances a JOIN mq_checks c ON c.tenant_id = a.tenant_id AND c.id = a.check_id
       WHERE a.tenant_id = ? AND a.queue_id = ? AND a.at >= ? ORDER BY a.version`,
      [tenant, queue, since],
    );
    return rows.map((r) => ({ commit: String(r['commit_sha']), tree: json<string[]>(r['tree']) }));
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

  /**
   * Applies engine transitions: the entry's state and reason, plus one history row each. With
   * `fenced`, only while that worker still holds the queue (else E_LEASE_LOST, nothing written).
   */
  async transitions(
    tenant: string,
    list: readonly (Transition & { id: string; at: number })[],
    fenced?: { queue: string; fence: number },
  ): Promise<void> {
    if (list.length === 0) return;
    await this.#store.transaction(async (tx) => {
      if (fenced) await this.#holds(tx, tenant, fenced.queue, fenced.fence);
      const events: NewEvent[] = [];
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
        const entry = await tx.get<{ queue_id: string }>(
          'SELECT queue_id FROM mq_entries WHERE tenant_id = ? AND id = ?',
          [tenant, t.entryId],
        );
        if (entry) events.push(entryChanged(tenant, entry.queue_id, t.entryId, t.to));
      }
      await publishEvents(tx, events, list.at(-1)?.at ?? Date.now()); // last: see kernel/events/bus.ts
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

  async startCheck(
    tenant: string,
    check: {
      id: string;
      queue: string;
      purpose: string;
      tree: readonly string[];
      version: number;
      commit: string;
      at: number;
    },
  ): Promise<void> {
    await this.#store.run(
      `INSERT INTO mq_checks (tenant_id, id, queue_id, purpose, tree, version, commit_sha, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        tenant,
        check.id,
        check.queue,
        check.purpose,
        JSON.stringify(check.tree),
        check.version,
        check.commit,
        check.at,
      ],
    );
  }

  /** Records a check's outcome and attributes its time to the entries of its tree in equal shares. */
  async finishCheck(tenant: string, id: string, run: CheckRun): Promise<void> {
    const tree = (await this.check(tenant, id))?.tree ?? [];
    const outcome = run.ok ? 'pass' : 'fail';
    await this.#store.transaction(async (tx) => {
      await tx.run(
        'UPDATE mq_checks SET outcome = ?, exit_code = ?, timed_out = ?, log = ?, duration_ms = ? WHERE tenant_id = ? AND id = ?',
        [outcome, run.exitCode, run.timedOut ? 1 : 0, run.log, run.durationMs, tenant, id],
      );
      for (const entry of tree) {
        await tx.run(
          'UPDATE mq_entries SET checks = checks + 1, check_ms = check_ms + ? WHERE tenant_id = ? AND id = ?',
          [Math.round(run.durationMs / tree.length), tenant, entry],
        );
      }
    });
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
