/**
 * @module orchestration/run-events
 * `run:changed` events on the kernel event bus: one per run status transition (queued, running,
 * waiting, completed, failed, cancelled, version_unavailable), published in the transaction that
 * writes the status, so a watcher (the dashboard, `strata runs watch`) sees an event if and only if
 * the change committed, in the order the tenant's changes committed.
 *
 * Payload: `{ id, workflow, status, attempt, parentId?, rootId?, error?: { code } }`. Ids, names,
 * statuses and error codes only: never a run's input, output or error message (which may quote
 * them). `parentId` and `rootId` are present for child runs only; `error` when the run holds one
 * (failed, cancelled, parked, or queued again after a failed attempt).
 */
import type { NewEvent, Queryable } from '../kernel/index.ts';
import type { RunRow } from './run-row.ts';

export const RUN_CHANGED = 'run:changed';

/** The columns a status write returns so that its event can be published. */
export const RUN_CHANGE_COLUMNS = 'id, tenant_id, workflow, status, parent_id, root_id, attempt, error';

export type RunChangeRow = Pick<
  RunRow,
  'id' | 'tenant_id' | 'workflow' | 'status' | 'parent_id' | 'root_id' | 'attempt' | 'error'
>;

export interface RunChangedPayload {
  readonly id: string;
  readonly workflow: string;
  readonly status: RunRow['status'];
  readonly attempt: number;
  readonly parentId?: string;
  readonly rootId?: string;
  readonly error?: { readonly code: string };
}

/** Publishes the rows' events in `q`, with one statement (call it last in the transaction). */
export type RunChangePublisher = (q: Queryable, rows: readonly RunChangeRow[]) => Promise<void>;

function errorCode(error: string | null): string | undefined {
  if (error === null) return undefined;
  try {
    const code = (JSON.parse(error) as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

export function runChangedEvent(row: RunChangeRow): NewEvent {
  const code = errorCode(row.error);
  const payload: RunChangedPayload = {
    id: row.id,
    workflow: row.workflow,
    status: row.status,
    attempt: Number(row.attempt),
    ...(row.parent_id === null ? {} : { parentId: row.parent_id }),
    ...(row.root_id === row.id ? {} : { rootId: row.root_id }),
    ...(code === undefined ? {} : { error: { code } }),
  };
  return { topic: RUN_CHANGED, tenantId: row.tenant_id, payload };
}

/** PostgreSQL: the `run:changed` payload of a row `c` of orch_runs, as runChangedEvent builds it. */
const PG_PAYLOAD = `jsonb_strip_nulls(jsonb_build_object('id', c.id, 'workflow', c.workflow, 'status', c.status,
  'attempt', c.attempt, 'parentId', c.parent_id, 'rootId', CASE WHEN c.root_id <> c.id THEN c.root_id END,
  'error', CASE WHEN c.error IS NOT NULL THEN jsonb_build_object('code', CAST(c.error AS jsonb)->>'code') END))::text`;

/**
 * PostgreSQL, for the hot paths (claims, group-committed starts and completions): `statement` (an
 * INSERT or UPDATE of orch_runs `RETURNING` at least {@link RUN_CHANGE_COLUMNS}) and the
 * `run:changed` event of each row it returns, as one statement: one round trip and no explicit
 * transaction. The rows are locked first (the statement runs before its rows are read), then the
 * tenants' outbox locks, in tenant order, then the events get their seqs (kernel/events/bus.ts).
 * `final` reads the CTE `changed`. Parameters: the statement's, then the events' timestamp, then
 * `final`'s.
 */
export function publishingRunChanges(statement: string, final = 'SELECT * FROM changed'): string {
  return `WITH changed AS (${statement}),
    locks AS (SELECT pg_advisory_xact_lock(hashtext('kernel.outbox:' || t))
      FROM (SELECT DISTINCT tenant_id AS t FROM changed ORDER BY 1) tenants),
    locked AS (SELECT count(*) AS n FROM locks),
    published AS (INSERT INTO kernel_outbox (topic, tenant_id, payload, ts)
      SELECT '${RUN_CHANGED}', c.tenant_id, ${PG_PAYLOAD}, CAST(? AS BIGINT)
      FROM changed c CROSS JOIN locked ORDER BY c.id)
  ${final}`;
}
