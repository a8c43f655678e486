/**
 * @module orchestration/supervision/tree
 * The supervision tree as stored: a supervisor's children are its child runs whose idempotency
 * key names an incarnation (`sup:<supervisor>:<n>:<child id>`), so the tree, each child's current
 * incarnation and its restart count are read from the runs table alone, whichever worker runs what.
 * Also the incarnation fence: a run that is not its child's latest incarnation is refused with
 * E_STALE_INCARNATION.
 */
import { StrataError } from '../../kernel/index.ts';
import type { Engine } from '../engine.ts';
import type { RunStatus } from '../run-row.ts';
import { parseIncarnationKey } from './spec.ts';
import { supervisorSpec } from './supervisor.ts';

export interface TreeNode {
  readonly runId: string;
  readonly workflow: string;
  readonly status: RunStatus;
  /** Set on supervisors. */
  readonly strategy?: string;
  /** Set on supervised children. */
  readonly childId?: string;
  readonly incarnation?: number;
  /** Restarts of this child so far (its incarnation − 1). */
  readonly restarts?: number;
  readonly error?: { code: string; message: string };
  readonly children: readonly TreeNode[];
}

type ChildRow = {
  id: string;
  workflow: string;
  version: number;
  status: RunStatus;
  idempotency_key: string | null;
  error: string | null;
};

/** Levels below a supervisor that are read (10,000 agents is two levels of 1,000 + 10). */
const MAX_DEPTH = 8;

export async function fleetTree(
  engine: Engine,
  tenantId: string,
  runId: string,
  depth = MAX_DEPTH,
): Promise<TreeNode> {
  const run = await engine.get(tenantId, runId);
  const spec = supervisorSpec(run.workflow, run.version);
  const node = {
    runId: run.id,
    workflow: run.workflow,
    status: run.status,
    ...(spec ? { strategy: spec.strategy } : {}),
    ...(run.error ? { error: run.error } : {}),
  };
  if (!spec || depth <= 0) return { ...node, children: [] };
  return { ...node, children: await currentChildren(engine, tenantId, run.id, depth) };
}

/** The latest incarnation of each child, in start order. */
async function currentChildren(
  engine: Engine,
  tenantId: string,
  runId: string,
  depth: number,
): Promise<TreeNode[]> {
  const rows = await engine.store.all<ChildRow>(
    'SELECT id, workflow, version, status, idempotency_key, error FROM orch_runs WHERE parent_id = ? AND tenant_id = ? ORDER BY id',
    [runId, tenantId],
  );
  const latest = new Map<string, { row: ChildRow; incarnation: number }>();
  for (const row of rows) {
    const key = parseIncarnationKey(row.idempotency_key);
    if (!key) continue;
    const seen = latest.get(key.childId);
    if (!seen || key.incarnation > seen.incarnation)
      latest.set(key.childId, { row, incarnation: key.incarnation });
  }
  const nodes: TreeNode[] = [];
  for (const [childId, { row, incarnation }] of latest) {
    const spec = supervisorSpec(row.workflow, row.version);
    const below = spec && depth > 1 ? await currentChildren(engine, tenantId, row.id, depth - 1) : [];
    nodes.push({
      runId: row.id,
      workflow: row.workflow,
      status: row.status,
      ...(spec ? { strategy: spec.strategy } : {}),
      childId,
      incarnation,
      restarts: incarnation - 1,
      ...(row.error === null ? {} : { error: JSON.parse(row.error) as { code: string; message: string } }),
      children: below,
    });
  }
  return nodes;
}

/**
 * Fencing: resolves with the child and incarnation `runId` is, if it is still its child's latest
 * incarnation; otherwise E_STALE_INCARNATION (data.current is the current run). Agents check
 * their writes, messages and completions with it (`fleet.fence`).
 */
export async function assertCurrentIncarnation(
  engine: Engine,
  tenantId: string,
  runId: string,
): Promise<{ supervisorRunId: string; childId: string; incarnation: number }> {
  const run = await engine.get(tenantId, runId);
  const key = parseIncarnationKey(run.idempotencyKey);
  if (!key) throw new StrataError('E_INVALID_INPUT', `run ${runId} is not a supervised child`, { runId });
  const siblings = await engine.store.all<{ id: string; idempotency_key: string | null }>(
    'SELECT id, idempotency_key FROM orch_runs WHERE parent_id = ? AND tenant_id = ? AND idempotency_key LIKE ?',
    [key.supervisorRunId, tenantId, `sup:${key.supervisorRunId}:%`],
  );
  let current = { id: runId, incarnation: key.incarnation };
  for (const row of siblings) {
    const other = parseIncarnationKey(row.idempotency_key);
    if (other?.childId === key.childId && other.incarnation > current.incarnation)
      current = { id: row.id, incarnation: other.incarnation };
  }
  if (current.id !== runId)
    throw new StrataError(
      'E_STALE_INCARNATION',
      `run ${runId} is incarnation ${key.incarnation} of child ${key.childId}; incarnation ${current.incarnation} (${current.id}) replaced it`,
      { current: current.id, incarnation: current.incarnation, stale: key.incarnation },
    );
  return key;
}
