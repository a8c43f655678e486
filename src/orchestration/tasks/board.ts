/**
 * @module orchestration/tasks/board
 * A durable task board: a task is claimed by exactly one agent. Every change reads the task,
 * decides, and writes with a compare-and-swap on its version, so of 100 concurrent claims exactly
 * one wins; a loser re-reads and sees the winner. Claims, releases and completions come from runs
 * and are fenced (holders.ts): an execution that was taken over, or a supervised child a restart
 * replaced, is refused with E_STALE_INCARNATION; a dead holder's task may be claimed again.
 *
 * @example
 * const { claimed, task } = await ctx.syscall('fleet.task.claim', { taskId });
 * if (claimed) await ctx.syscall('fleet.task.complete', { taskId, result: { ok: true } });
 */
import { newId, StrataError, type Store } from '../../kernel/index.ts';
import type { Engine } from '../engine.ts';
import { holderAlive, liveCaller, type Holder } from './holders.ts';
import { TASKS_LAYER, taskMigrations } from './migrations.ts';

export type TaskStatus = 'open' | 'claimed' | 'completed';

export interface Task {
  readonly id: string;
  readonly key: string;
  readonly title: string;
  readonly payload: unknown;
  readonly status: TaskStatus;
  readonly holder: Holder | null;
  /** Claims won so far (above 1: the task was released or its holder died). */
  readonly claims: number;
  readonly result: unknown;
  readonly createdAt: number;
  readonly claimedAt: number | null;
  readonly completedAt: number | null;
}

type TaskRow = {
  id: string;
  tenant_id: string;
  key: string;
  title: string;
  payload: string;
  status: TaskStatus;
  holder_run: string | null;
  holder_incarnation: number | null;
  displaced_run: string | null;
  claims: number;
  result: string | null;
  version: number;
  created_at: number | string;
  claimed_at: number | string | null;
  completed_at: number | string | null;
};

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    key: row.key,
    title: row.title,
    payload: JSON.parse(row.payload) as unknown,
    status: row.status,
    holder:
      row.holder_run === null ? null : { runId: row.holder_run, incarnation: Number(row.holder_incarnation) },
    claims: Number(row.claims),
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    createdAt: Number(row.created_at),
    claimedAt: num(row.claimed_at),
    completedAt: num(row.completed_at),
  };
}

/** A compare-and-swap keeps its loop short: after this many lost races the caller sees the state. */
const MAX_RACES = 8;

export class TaskBoard {
  readonly #engine: Engine;
  #migrated: Promise<unknown> | undefined;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  get #store(): Store {
    return this.#engine.store;
  }

  #ready(): Promise<unknown> {
    this.#migrated ??= this.#store.migrate(TASKS_LAYER, taskMigrations).catch((error: unknown) => {
      this.#migrated = undefined;
      throw error;
    });
    return this.#migrated;
  }

  async #row(tenantId: string, taskId: string): Promise<TaskRow> {
    await this.#ready();
    const row = await this.#store.get<TaskRow>('SELECT * FROM orch_tasks WHERE id = ? AND tenant_id = ?', [
      taskId,
      tenantId,
    ]);
    if (!row) throw new StrataError('E_NOT_FOUND', `no task ${taskId.slice(0, 60)} in this tenant`);
    return row;
  }

  /** Sets `fields` if the task is still at `version`; undefined if another change came first. */
  async #swap(row: TaskRow, fields: string, params: readonly (string | number | null)[]) {
    const swapped = await this.#store.get<TaskRow>(
      `UPDATE orch_tasks SET ${fields}, version = version + 1, updated_at = ? WHERE id = ? AND version = ? RETURNING *`,
      [...params, this.#engine.clock.now(), row.id, row.version],
    );
    return swapped && toTask(swapped);
  }

  /** Creates a task; a second create with the same key returns the first task. */
  async create(tenantId: string, input: { title: string; payload?: unknown; key?: string }): Promise<Task> {
    await this.#ready();
    const now = this.#engine.clock.now();
    const id = newId('task', now);
    const inserted = await this.#store.get<TaskRow>(
      `INSERT INTO orch_tasks (id, tenant_id, key, title, payload, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'open', ?, ?) ON CONFLICT (tenant_id, key) DO NOTHING RETURNING *`,
      [id, tenantId, input.key ?? id, input.title, JSON.stringify(input.payload ?? null), now, now],
    );
    if (inserted) return toTask(inserted);
    const existing = await this.#store.get<TaskRow>(
      'SELECT * FROM orch_tasks WHERE tenant_id = ? AND key = ?',
      [tenantId, input.key ?? id],
    );
    if (!existing)
      throw new StrataError('E_INTERNAL', 'task create found neither a new nor an existing task');
    return toTask(existing);
  }

  async get(tenantId: string, taskId: string): Promise<Task> {
    return toTask(await this.#row(tenantId, taskId));
  }

  /** Newest first; `after` is the id of the last task of the previous page. */
  async list(
    tenantId: string,
    filter: { status?: TaskStatus; limit?: number; after?: string } = {},
  ): Promise<Task[]> {
    await this.#ready();
    const where = ['tenant_id = ?'];
    const params: (string | number)[] = [tenantId];
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.after !== undefined) {
      where.push('id < ?');
      params.push(filter.after);
    }
    params.push(Math.min(Math.max(filter.limit ?? 50, 1), 1000));
    const rows = await this.#store.all<TaskRow>(
      `SELECT * FROM orch_tasks WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
      params,
    );
    return rows.map(toTask);
  }

  /**
   * Claims a task for the calling run: won if the task is open, or its holder is dead (holders.ts),
   * or the caller already holds it (a replayed claim; a resumed run takes its claim over).
   */
  async claim(
    tenantId: string,
    taskId: string,
    runId: string | undefined,
  ): Promise<{ claimed: boolean; task: Task }> {
    const caller = await liveCaller(this.#engine, tenantId, runId);
    for (let race = 0; race < MAX_RACES; race++) {
      const row = await this.#row(tenantId, taskId);
      if (row.status === 'completed') return { claimed: false, task: toTask(row) };
      if (row.status === 'claimed' && row.holder_run === caller.runId) {
        const kept = await this.#swap(row, 'holder_incarnation = ?', [caller.incarnation]);
        if (kept) return { claimed: true, task: kept };
        continue;
      }
      const now = this.#engine.clock.now();
      if (row.status === 'claimed' && row.holder_run !== null) {
        const holder = { runId: row.holder_run, incarnation: Number(row.holder_incarnation) };
        if (await holderAlive(this.#engine, tenantId, holder, now))
          return { claimed: false, task: toTask(row) };
      }
      const won = await this.#swap(
        row,
        "status = 'claimed', holder_run = ?, holder_incarnation = ?, displaced_run = ?, claims = claims + 1, claimed_at = ?",
        [caller.runId, caller.incarnation, row.holder_run, now],
      );
      if (won) return { claimed: true, task: won };
    }
    return { claimed: false, task: await this.get(tenantId, taskId) };
  }

  /** Gives the task back (open) so another run may claim it. Only its live holder may. */
  async release(tenantId: string, taskId: string, runId: string | undefined): Promise<Task> {
    return this.#asHolder({ tenantId, taskId, runId }, 'release', (row) =>
      this.#swap(row, "status = 'open', holder_run = NULL, holder_incarnation = NULL, claimed_at = NULL", []),
    );
  }

  /** Marks the task done with its result. Only its live holder may; a repeat by it returns the task. */
  async complete(
    tenantId: string,
    taskId: string,
    runId: string | undefined,
    result: unknown,
  ): Promise<Task> {
    return this.#asHolder({ tenantId, taskId, runId }, 'complete', (row, caller) =>
      this.#swap(row, "status = 'completed', result = ?, holder_incarnation = ?, completed_at = ?", [
        JSON.stringify(result ?? null),
        caller.incarnation,
        this.#engine.clock.now(),
      ]),
    );
  }

  async #asHolder(
    at: { tenantId: string; taskId: string; runId: string | undefined },
    action: 'release' | 'complete',
    change: (row: TaskRow, caller: Holder) => Promise<Task | undefined>,
  ): Promise<Task> {
    const { tenantId, taskId, runId } = at;
    const caller = await liveCaller(this.#engine, tenantId, runId);
    for (let race = 0; race < MAX_RACES; race++) {
      const row = await this.#row(tenantId, taskId);
      const holds = row.holder_run === caller.runId;
      if (action === 'complete' && row.status === 'completed' && holds) return toTask(row);
      if (row.status !== 'claimed' || !holds) {
        const data = { taskId, status: row.status, holder: row.holder_run };
        if (row.displaced_run === caller.runId)
          throw new StrataError(
            'E_STALE_INCARNATION',
            `run ${caller.runId} lost task ${taskId} when it died; run ${row.holder_run ?? '(none)'} claimed it since`,
            data,
          );
        throw new StrataError(
          'E_CONFLICT',
          `run ${caller.runId} does not hold task ${taskId} (${row.status})`,
          data,
        );
      }
      const changed = await change(row, caller);
      if (changed) return changed;
    }
    throw new StrataError('E_CONFLICT', `task ${taskId} kept changing; try again`, { taskId });
  }
}
