/**
 * @module orchestration/run-row
 * Runs as stored and as returned by the run API. Status values:
 * `queued` (ready or delayed), `running` (leased by a worker), `waiting` (suspended on a timer, a
 * signal or a child; holds no worker), `completed`, `failed` (terminal: the dead-letter state, with
 * the last error), `cancelled`, `version_unavailable` (parked: no live worker has the code of the
 * version it started on; queued again when one registers it, see `deployments.ts`).
 */
import type { Principal } from '../kernel/index.ts';

export type RunStatus =
  'queued' | 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled' | 'version_unavailable';

export const TERMINAL: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'cancelled']);

export type RunRow = {
  id: string;
  tenant_id: string;
  workflow: string;
  version: number;
  queue: string;
  priority: number;
  status: RunStatus;
  input: string;
  output: string | null;
  error: string | null;
  principal: string;
  parent_id: string | null;
  root_id: string;
  idempotency_key: string | null;
  attempt: number;
  max_attempts: number;
  available_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  wake_pending: number;
  cancel_requested: number;
  timeout_at: number | null;
  cost_micros: number;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
};

export interface RunError {
  readonly code: string;
  readonly message: string;
}

export interface Run {
  readonly id: string;
  readonly tenantId: string;
  readonly workflow: string;
  readonly version: number;
  readonly queue: string;
  readonly priority: number;
  readonly status: RunStatus;
  readonly input: unknown;
  readonly output?: unknown;
  readonly error?: RunError;
  readonly parentId: string | null;
  readonly rootId: string;
  readonly idempotencyKey: string | null;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly availableAt: number | null;
  readonly leaseOwner: string | null;
  readonly cancelRequested: boolean;
  readonly costMicros: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
}

export function toRun(row: RunRow): Run {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    workflow: row.workflow,
    version: row.version,
    queue: row.queue,
    priority: row.priority,
    status: row.status,
    input: JSON.parse(row.input) as unknown,
    ...(row.output === null ? {} : { output: JSON.parse(row.output) as unknown }),
    ...(row.error === null ? {} : { error: JSON.parse(row.error) as RunError }),
    parentId: row.parent_id,
    rootId: row.root_id,
    idempotencyKey: row.idempotency_key,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    availableAt: row.available_at,
    leaseOwner: row.lease_owner,
    cancelRequested: row.cancel_requested === 1,
    costMicros: row.cost_micros,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

export function principalOf(row: RunRow): Principal {
  return JSON.parse(row.principal) as Principal;
}

export type JournalRow = {
  run_id: string;
  seq: number;
  kind: JournalKind;
  name: string;
  status: 'ok' | 'error' | 'pending';
  output: string | null;
  error: string | null;
  wake_at: number | null;
  attempts: number;
  started_at: number;
  finished_at: number | null;
};

export type JournalKind =
  | 'step'
  | 'tx'
  | 'syscall'
  | 'sleep'
  | 'signal'
  | 'child'
  | 'join'
  | 'now'
  | 'random'
  // A ctx.patched(id) marker: this run took the patched branch.
  | 'patch'
  // A child exit (or signal) taken by ctx.nextChildExit (supervision).
  | 'exit';
