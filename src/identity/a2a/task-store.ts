/**
 * @module identity/a2a/task-store
 * The SDK's `TaskStore` on Strata's store, so GetTask and ListTasks survive a restart and work the
 * same on SQLite and PostgreSQL. A task is kept whole as the SDK's own JSON (`Task.toJSON`), next to
 * the columns ListTasks filters on. Listing is newest status first, paged by an opaque keyset token.
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

/** One agent's tasks in the `a2a_tasks` table. */
export class StoreTaskStore implements TaskStore {
  readonly #store: Store;
  readonly #agent: string;
  readonly #clock: Clock;

  constructor(options: { store: Store; agent: string; clock: Clock }) {
    this.#store = options.store;
    this.#agent = options.agent;
    this.#clock = options.clock;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const s = scopeOf(this.#agent, context);
    const state = task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
    await this.#store.run(
      `INSERT INTO a2a_tasks (agent, tenant, owner, id, context_id, state, status_ts, body, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent, tenant, owner, id) DO UPDATE SET
         context_id = excluded.context_id, state = excluded.state, status_ts = excluded.status_ts,
         body = excluded.body, updated_at = excluded.updated_at`,
      [
        s.agent,
        s.tenant,
        s.owner,
        task.id,
        task.contextId,
        state,
        task.status?.timestamp ?? '',
        JSON.stringify(Task.toJSON(task)),
        this.#clock.now(),
      ],
    );
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const s = scopeOf(this.#agent, context);
    const row = await this.#store.get<{ body: string }>(
      'SELECT body FROM a2a_tasks WHERE agent = ? AND tenant = ? AND owner = ? AND id = ?',
      [s.agent, s.tenant, s.owner, taskId],
    );
    return row ? Task.fromJSON(JSON.parse(row.body)) : undefined;
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
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
