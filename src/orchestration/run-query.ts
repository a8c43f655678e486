/**
 * @module orchestration/run-query
 * Which runs a listing, a count or a bulk action means: one filter (status, workflow, parent, run
 * tree, supervisor subtree, agent, error code, creation time, cost, search) turned into one WHERE
 * clause, so `runs.list`, `runs.count` and `runs.bulk` can never disagree on what matches.
 *
 * Paging is keyset on the run id, newest first (`id < after`): ids are ULIDs, time-ordered and
 * unique, so pages have neither duplicates nor gaps however deep they go, and each page is an index
 * range scan (migration 6 adds `(tenant_id, id)`-suffixed indexes for the common filters).
 *
 * - `agent` is the principal a run acts as (`principal.id`: an agent id, or the API key that
 *   started it); child runs act as their parent's principal, so they carry the same one.
 * - `rootId` is the whole tree under a root run; `supervisor` is the subtree of any run (itself and
 *   every descendant), read with a recursive query unless the run is a root.
 * - `minCostUsd` reads the run's own `cost_micros` (what its metered syscalls cost), not its
 *   children's.
 * - An unknown run id in a filter matches nothing; it is not an error.
 */
import { z } from 'zod';
import type { Dialect, Migration, Queryable } from '../kernel/index.ts';
import { runStatusSchema } from './timeline.ts';
import { toRun, type Run, type RunRow } from './run-row.ts';

const runId = z.string().min(1).max(100);

/** The filter shared by `runs.list`, `runs.count` and `runs.bulk`. */
export const runFilterSchema = z
  .object({
    status: z.union([runStatusSchema, z.array(runStatusSchema).min(1).max(7)]).optional(),
    workflow: z.string().min(1).max(200).optional(),
    parentId: runId.optional(),
    rootId: runId.optional().describe('every run of the tree under this root run'),
    supervisor: runId.optional().describe('this run and every run below it'),
    agent: z.string().min(1).max(200).optional().describe('the principal id the run acts as'),
    errorCode: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'an error code such as E_TIMEOUT')
      .optional(),
    createdAfter: z.number().int().nonnegative().optional().describe('epoch ms, inclusive'),
    createdBefore: z.number().int().nonnegative().optional().describe('epoch ms, exclusive'),
    minCostUsd: z.number().nonnegative().max(1e9).optional(),
    q: z.string().trim().min(1).max(200).optional().describe('run id prefix or workflow substring'),
  })
  .strict();

export type RunFilter = z.infer<typeof runFilterSchema>;

export interface RunPage {
  readonly limit?: number;
  /** Keyset cursor: the id of the last run of the previous page. */
  readonly after?: string;
}

/** Refuses a time window that ends before it starts, naming the field. */
export function checkWindow(filter: RunFilter, ctx: z.RefinementCtx): void {
  const { createdAfter, createdBefore } = filter;
  if (createdAfter !== undefined && createdBefore !== undefined && createdBefore < createdAfter)
    ctx.addIssue({ code: 'custom', path: ['createdBefore'], message: 'must not be before createdAfter' });
}

type Where = { readonly clauses: string[]; readonly params: (string | number)[] };

/** The principal id / error code of a row, as the indexes of migration 6 spell them. */
const jsonField = (dialect: Dialect, column: string, field: string): string =>
  dialect === 'postgres' ? `((${column})::jsonb ->> '${field}')` : `json_extract(${column}, '$.${field}')`;

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The WHERE clauses of a filter; `undefined` when it can match nothing (an unknown supervisor). */
async function whereOf(q: Queryable, tenantId: string, filter: RunFilter): Promise<Where | undefined> {
  const clauses = ['tenant_id = ?'];
  const params: (string | number)[] = [tenantId];
  const add = (clause: string, ...values: (string | number)[]): void => {
    clauses.push(clause);
    params.push(...values);
  };
  const statuses = filter.status === undefined ? [] : [filter.status].flat();
  if (statuses.length > 0) add(`status IN (${statuses.map(() => '?').join(', ')})`, ...statuses);
  if (filter.workflow !== undefined) add('workflow = ?', filter.workflow);
  if (filter.parentId !== undefined) add('parent_id = ?', filter.parentId);
  if (filter.rootId !== undefined) add('root_id = ?', filter.rootId);
  if (filter.supervisor !== undefined) {
    const top = await q.get<{ root_id: string }>(
      'SELECT root_id FROM orch_runs WHERE id = ? AND tenant_id = ?',
      [filter.supervisor, tenantId],
    );
    if (!top) return undefined;
    if (top.root_id === filter.supervisor) add('root_id = ?', filter.supervisor);
    else
      add(
        // Children by the parent index only: a run's children are in its tenant, and the outer
        // query keeps to the tenant anyway (a tenant condition here lets the planner pick the
        // tenant index and scan the tenant's runs once per tree node).
        `id IN (WITH RECURSIVE sub(id) AS (SELECT CAST(? AS TEXT) UNION ALL
           SELECT r.id FROM orch_runs r JOIN sub ON r.parent_id = sub.id) SELECT id FROM sub)`,
        filter.supervisor,
      );
  }
  if (filter.agent !== undefined) add(`${jsonField(q.dialect, 'principal', 'id')} = ?`, filter.agent);
  if (filter.errorCode !== undefined)
    add(`error IS NOT NULL AND ${jsonField(q.dialect, 'error', 'code')} = ?`, filter.errorCode);
  if (filter.createdAfter !== undefined) add('created_at >= ?', filter.createdAfter);
  if (filter.createdBefore !== undefined) add('created_at < ?', filter.createdBefore);
  if (filter.minCostUsd !== undefined) add('cost_micros >= ?', Math.round(filter.minCostUsd * 1e6));
  if (filter.q !== undefined) {
    // LIKE ignores ASCII case on SQLite; ILIKE does on PostgreSQL.
    const like = q.dialect === 'postgres' ? 'ILIKE' : 'LIKE';
    const text = escapeLike(filter.q);
    add(`(id ${like} ? ESCAPE '\\' OR workflow ${like} ? ESCAPE '\\')`, `${text}%`, `%${text}%`);
  }
  return { clauses, params };
}

/** One page of the tenant's runs matching `filter`, newest first. */
export async function listRuns(q: Queryable, tenantId: string, filter: RunFilter & RunPage): Promise<Run[]> {
  const where = await whereOf(q, tenantId, filter);
  if (!where) return [];
  const { clauses, params } = where;
  if (filter.after !== undefined) {
    clauses.push('id < ?');
    params.push(filter.after);
  }
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 1000);
  const rows = await q.all<RunRow>(
    `SELECT * FROM orch_runs WHERE ${clauses.join(' AND ')} ORDER BY id DESC LIMIT ?`,
    [...params, limit],
  );
  return rows.map(toRun);
}

/** How many runs match, counting no further than `cap` (`capped` when there are more). */
export async function countRuns(
  q: Queryable,
  tenantId: string,
  filter: RunFilter,
  cap: number,
): Promise<{ count: number; capped: boolean }> {
  const where = await whereOf(q, tenantId, filter);
  if (!where) return { count: 0, capped: false };
  const row = await q.get<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM (SELECT 1 FROM orch_runs WHERE ${where.clauses.join(' AND ')} LIMIT ?) matched`,
    [...where.params, cap + 1],
  );
  const n = Number(row?.n ?? 0);
  return n > cap ? { count: cap, capped: true } : { count: n, capped: false };
}

/**
 * Indexes for listing: each ends in `id`, so a filtered page is a range scan in keyset order. The
 * parent index gains `id` for the same reason (it also serves cancel's child lookups).
 */
export const runListingMigration: Migration = {
  version: 6,
  name: 'run listing indexes',
  up: {
    sqlite: listingIndexes('sqlite'),
    postgres: listingIndexes('postgres'),
  },
};

function listingIndexes(dialect: Dialect): string {
  return `
    CREATE INDEX orch_runs_tenant_id ON orch_runs (tenant_id, id);
    CREATE INDEX orch_runs_tenant_status ON orch_runs (tenant_id, status, id);
    CREATE INDEX orch_runs_tenant_workflow ON orch_runs (tenant_id, workflow, id);
    CREATE INDEX orch_runs_root ON orch_runs (root_id, id);
    CREATE INDEX orch_runs_tenant_agent ON orch_runs (tenant_id, ${jsonField(dialect, 'principal', 'id')}, id);
    DROP INDEX orch_runs_parent;
    CREATE INDEX orch_runs_parent ON orch_runs (parent_id, id);`;
}
