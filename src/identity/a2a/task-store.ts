/**
 * @module identity/a2a/task-store
 * The SDK's `TaskStore` on Strata's store, so GetTask and ListTasks survive a restart and work the
 * same on SQLite and PostgreSQL. A task is kept whole as the SDK's own JSON (`Task.toJSON`), next to
 * the columns ListTasks filters on. Listing is newest status first, paged by an opaque keyset token.
 *
 * Writes are coalesced. The SDK saves a task after every event its executor publishes (SUBMITTED,
 * WORKING, each artifact, the final status: four writes for one echo) and loads it again before each
 * merge. A save of a state the task does not settle in (SUBMITTED, WORKING) is held in memory and
 * written at the next turn of the event loop, or replaced by a later save first; a settled state
 * (terminal or interrupted) is written before `save` returns. Loads see the held copy, `list` and
 * {@link StoreTaskStore.flush} write it first, and the routes flush before answering, so whatever a
 * response reports is durable: a one-turn echo costs one write instead of four.
 */
import { Task, TaskState, type ListTasksRequest, type ListTasksResponse } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import { resolveUserScope, type ServerCallContext, type TaskStore } from '@a2a-js/sdk/server';
import type { Clock, SqlValue, Store } from '../../kernel/index.ts';

/** The (agent, tenant, owner) a call's data lives under. */
export interface Scope {
  readonly agent: string;
  readonly tenant: string;
  readonly owner: string;
}

export const scopeOf = (agent: string, context: ServerCallContext): Scope => ({
  agent,
  tenant: context.tenant ?? '',
  owner: resolveUserScope(context),
});

const DEFAULT_PAGE = 50;
const MAX_PAGE = 100;

interface Cursor {
  readonly ts: string;
  readonly id: string;
}

function decodeCursor(token: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof c.ts === 'string' && typeof c.id === 'string') return { ts: c.ts, id: c.id };
  } catch {
    // fall through to the refusal below
  }
  throw new RequestMalformedError('pageToken is not a token this server issued');
}

const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');

/** States a task rests in after a message: its save is written before `save` returns. */
const SETTLED: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
  TaskState.TASK_STATE_INPUT_REQUIRED,
  TaskState.TASK_STATE_AUTH_REQUIRED,
]);

const UPSERT = `INSERT INTO a2a_tasks (agent, tenant, owner, id, context_id, state, status_ts, body, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (agent, tenant, owner, id) DO UPDATE SET
    context_id = excluded.context_id, state = excluded.state, status_ts = excluded.status_ts,
    body = excluded.body, updated_at = excluded.updated_at`;

/** The UPSERT's parameters for one save; `body` is what `load` parses while the row is held. */
interface HeldRow {
  readonly params: SqlValue[];
  readonly body: string;
}

// JSON, not a separator: ids are caller-chosen text, and two owners' keys must never meet.
const keyOf = (s: Scope, taskId: string): string => JSON.stringify([s.tenant, s.owner, taskId]);

/** One agent's tasks in the `a2a_tasks` table. */
export class StoreTaskStore implements TaskStore {
  readonly #store: Store;
  readonly #agent: string;
  readonly #clock: Clock;
  /** Saves not yet written, by task; see the module comment. */
  readonly #held = new Map<string, HeldRow>();
  /** The write in flight per task, so writes of one task land in order. */
  readonly #writing = new Map<string, Promise<void>>();
  /** Tasks with a deferred write already scheduled for the next turn. */
  readonly #scheduled = new Set<string>();

  constructor(options: { store: Store; agent: string; clock: Clock }) {
    this.#store = options.store;
    this.#agent = options.agent;
    this.#clock = options.clock;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const s = scopeOf(this.#agent, context);
    const state = task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
    const body = JSON.stringify(Task.toJSON(task));
    const params = [
      s.agent,
      s.tenant,
      s.owner,
      task.id,
      task.contextId,
      state,
      task.status?.timestamp ?? '',
      body,
      this.#clock.now(),
    ];
    const key = keyOf(s, task.id);
    this.#held.set(key, { params, body });
    if (SETTLED.has(state)) return this.#write(key);
    if (this.#scheduled.has(key)) return;
    this.#scheduled.add(key);
    setImmediate(() => {
      this.#scheduled.delete(key);
      // A failed write leaves the row held: the next save, flush or list writes it again.
      this.#write(key).catch(() => undefined);
    });
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const s = scopeOf(this.#agent, context);
    const held = this.#held.get(keyOf(s, taskId));
    const body =
      held?.body ??
      (
        await this.#store.get<{ body: string }>(
          'SELECT body FROM a2a_tasks WHERE agent = ? AND tenant = ? AND owner = ? AND id = ?',
          [s.agent, s.tenant, s.owner, taskId],
        )
      )?.body;
    return body === undefined ? undefined : Task.fromJSON(JSON.parse(body));
  }

  /** Writes every held save; resolves when they are durable. */
  async flush(): Promise<void> {
    await Promise.all([...this.#held.keys()].map((key) => this.#write(key)));
  }

  /**
   * Writes the row held for `key`, after any write of the same task still in flight (so an older
   * state never lands last). The row stays visible to `load` until its write is done.
   */
  #write(key: string): Promise<void> {
    const previous = this.#writing.get(key);
    const write = async () => {
      const row = this.#held.get(key);
      if (!row) return;
      await this.#store.run(UPSERT, row.params);
      if (this.#held.get(key) === row) this.#held.delete(key);
    };
    const next = previous ? previous.then(write, write) : write();
    this.#writing.set(key, next);
    const forget = () => {
      if (this.#writing.get(key) === next) this.#writing.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    await this.flush();
    const s = scopeOf(this.#agent, context);
    const pageSize = params.pageSize ?? DEFAULT_PAGE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE) {
      throw new RequestMalformedError(`pageSize must be an integer from 1 to ${MAX_PAGE}`);
    }
    let where = 'agent = ? AND tenant = ? AND owner = ?';
    const args: SqlValue[] = [s.agent, s.tenant, s.owner];
    if (params.contextId) {
      where += ' AND context_id = ?';
      args.push(params.contextId);
    }
    if (params.status !== TaskState.TASK_STATE_UNSPECIFIED) {
      where += ' AND state = ?';
      args.push(params.status);
    }
    if (params.statusTimestampAfter) {
      where += ' AND status_ts > ?';
      args.push(new Date(params.statusTimestampAfter).toISOString());
    }
    const total = await this.#store.get<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM a2a_tasks WHERE ${where}`,
      args,
    );
    if (params.pageToken) {
      const c = decodeCursor(params.pageToken);
      where += ' AND (status_ts < ? OR (status_ts = ? AND id < ?))';
      args.push(c.ts, c.ts, c.id);
    }
    const rows = await this.#store.all<{ body: string; status_ts: string; id: string }>(
      `SELECT body, status_ts, id FROM a2a_tasks WHERE ${where} ORDER BY status_ts DESC, id DESC LIMIT ?`,
      [...args, pageSize + 1],
    );
    const page = rows.slice(0, pageSize);
    const last = page.at(-1);
    const tasks = page.map((r) => {
      const task = Task.fromJSON(JSON.parse(r.body));
      return params.includeArtifacts ? task : { ...task, artifacts: [] };
    });
    return {
      tasks,
      nextPageToken: rows.length > pageSize && last ? encodeCursor({ ts: last.status_ts, id: last.id }) : '',
      pageSize,
      totalSize: Number(total?.n ?? 0),
    };
  }
}
