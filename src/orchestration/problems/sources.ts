/**
 * @module orchestration/problems/sources
 * One bounded query per kind of problem, each on an index of its table (see problems.ts for the
 * list): `LIMIT` per kind, and runs are only read through the parked-runs partial index or by id.
 * Each source returns its items and the escalation keys those items stand for, so the escalation
 * source can leave them out (one item per thing to do).
 */
import type { SqlValue, Store } from '../../kernel/index.ts';
import { SEVERITIES } from '../escalations/escalation-row.ts';
import { shortDuration } from './age.ts';
import type { Problem } from './types.ts';

export interface SourceScope {
  readonly store: Store;
  readonly tenantId: string;
  readonly now: number;
  readonly limit: number;
}

export interface Found {
  readonly items: Problem[];
  /** More rows matched than the limit. */
  readonly full: boolean;
  /** Escalation dedup keys already represented by these items. */
  readonly covers: readonly string[];
}

type Row = Record<string, unknown>;
const num = (v: unknown): number => Number(v);
const str = (v: unknown): string => String(v);

/** `LIMIT limit + 1` tells whether there were more. */
export async function rows(
  scope: SourceScope,
  sql: string,
  params: SqlValue[],
): Promise<{ rows: Row[]; full: boolean }> {
  const found = await scope.store.all<Row>(`${sql} LIMIT ?`, [...params, scope.limit + 1]);
  return { rows: found.slice(0, scope.limit), full: found.length > scope.limit };
}

export const item = (scope: SourceScope, fields: Omit<Problem, 'ageMs'>): Problem => ({
  ...fields,
  ageMs: Math.max(0, scope.now - fields.since),
});

/** Open budget pauses; their approval is the action, their escalation is folded in. */
export async function budgetPauses(scope: SourceScope): Promise<Found & { approvals: Set<string> }> {
  const found = await rows(
    scope,
    `SELECT p.id, p.budget_id, p.budget, p.leader_run_id, p.root_id, p.syscall, p.proposed_limit, p.approval_id,
       p.created_at, (SELECT COUNT(*) FROM orch_budget_paused_runs r WHERE r.pause_id = p.id) AS runs
     FROM orch_budget_pauses p WHERE p.tenant_id = ? AND p.status = 'paused' ORDER BY p.created_at`,
    [scope.tenantId],
  );
  const approvals = new Set<string>();
  const items = found.rows.map((r) => {
    const budget = JSON.parse(str(r['budget'])) as {
      scope: string;
      period: string;
      limit: string;
      currency: string;
    };
    const approvalId = r['approval_id'] === null ? null : str(r['approval_id']);
    if (approvalId) approvals.add(approvalId);
    return item(scope, {
      kind: 'budget_pause',
      id: str(r['id']),
      runId: str(r['leader_run_id']),
      since: num(r['created_at']),
      reason:
        `${budget.period} ${budget.scope} budget exhausted (${budget.limit} ${budget.currency}) at ${str(r['syscall'])}; ` +
        `${num(r['runs'])} run(s) paused; approve to raise it to ${str(r['proposed_limit'])}`,
      action: approvalId
        ? { syscall: 'approvals.decide', input: { id: approvalId } }
        : { syscall: 'runs.budget_pauses.get', input: { id: str(r['id']) } },
    });
  });
  const covers = found.rows.map((r) => `budget:${str(r['budget_id'])}`);
  return { items, full: found.full, covers, approvals };
}

/** Pending approvals, oldest first, with the time left before their timeout escalates or decides them. */
export async function approvals(scope: SourceScope, skip: ReadonlySet<string>): Promise<Found> {
  const found = await rows(
    scope,
    `SELECT id, run_id, workflow, question, on_timeout, timeout_at, escalated_at, created_at
     FROM orch_approvals WHERE tenant_id = ? AND status = 'pending' ORDER BY created_at`,
    [scope.tenantId],
  );
  const pending = found.rows.filter((r) => !skip.has(str(r['id'])));
  const items = pending.map((r) => {
    const timeoutAt = r['timeout_at'] === null ? null : num(r['timeout_at']);
    const escalated = r['escalated_at'] !== null;
    const timeLeftMs = escalated ? 0 : timeoutAt === null ? null : Math.max(0, timeoutAt - scope.now);
    const then =
      { escalate: 'escalates', reject: 'is rejected', approve: 'is approved' }[String(r['on_timeout'])] ??
      'times out';
    const when = escalated
      ? 'escalated'
      : timeLeftMs === null
        ? 'no timeout'
        : `${then} in ${shortDuration(timeLeftMs)}`;
    return item(scope, {
      kind: 'approval',
      id: str(r['id']),
      runId: str(r['run_id']),
      since: num(r['created_at']),
      reason: `${str(r['workflow'])} asks: ${str(r['question']).replace(/\s+/g, ' ').slice(0, 200)} (${when})`,
      action: { syscall: 'approvals.decide', input: { id: str(r['id']) } },
      timeLeftMs,
    });
  });
  return { items, full: found.full, covers: pending.map((r) => `approval:${str(r['id'])}`) };
}

/**
 * Runs still stalled: the latest recorded stall of a run that is still running and made no
 * progress since (no new claim, journal entry or reported progress after the stall's mark).
 */
export async function stalledRuns(scope: SourceScope): Promise<Found> {
  const found = await rows(
    scope,
    `SELECT s.run_id, s.workflow, s.lease_owner, s.progress_at, s.detected_at, s.policy
     FROM orch_stalls s JOIN orch_runs r ON r.id = s.run_id
     WHERE s.tenant_id = ? AND r.status = 'running' AND r.updated_at <= s.progress_at
       AND NOT EXISTS (SELECT 1 FROM orch_journal j WHERE j.run_id = s.run_id
         AND COALESCE(j.finished_at, j.started_at) > s.progress_at)
       AND NOT EXISTS (SELECT 1 FROM orch_run_progress p WHERE p.run_id = s.run_id AND p.at > s.progress_at)
     ORDER BY s.detected_at`,
    [scope.tenantId],
  );
  const items = found.rows.map((r) =>
    item(scope, {
      kind: 'stalled_run',
      id: str(r['run_id']),
      runId: str(r['run_id']),
      since: num(r['progress_at']),
      reason: `${str(r['workflow'])} made no progress for ${shortDuration(scope.now - num(r['progress_at']))} while held by ${str(r['lease_owner'] ?? '?')} (policy ${str(r['policy'])})`,
      action: { syscall: 'runs.cancel', input: { runId: str(r['run_id']) } },
    }),
  );
  return { items, full: found.full, covers: found.rows.map((r) => `run-stalled:${str(r['run_id'])}`) };
}

/**
 * Unresolved escalations (open or acked) not folded into another item; a supervisor's (a root
 * that gave up, a mass-death breaker that opened) is its own kind, with the supervisor's run.
 */
export async function escalations(scope: SourceScope, covered: ReadonlySet<string>): Promise<Found> {
  const found = await rows(
    scope,
    `SELECT id, dedup_key, severity, title, source, status, count, first_at, acked_by
     FROM orch_escalations WHERE tenant_id = ? AND status IN ('open', 'acked') ORDER BY last_at DESC`,
    [scope.tenantId],
  );
  const items = found.rows
    .filter((r) => !covered.has(str(r['dedup_key'])))
    .map((r) => {
      const key = str(r['dedup_key']);
      const supervisor = r['source'] === 'supervision' ? key.slice(key.indexOf(':') + 1) : undefined;
      const count = num(r['count']);
      const acked = r['status'] === 'acked' ? `; acked by ${str(r['acked_by'])}` : '';
      return item(scope, {
        kind: supervisor === undefined ? 'escalation' : 'supervisor',
        id: str(r['id']),
        ...(supervisor === undefined ? {} : { runId: supervisor }),
        severity: SEVERITIES[Math.max(0, Math.min(2, num(r['severity'])))] ?? 'P0',
        since: num(r['first_at']),
        reason: `${str(r['title'])}${count > 1 ? ` (x${count})` : ''}${acked}`,
        action: {
          syscall: r['status'] === 'acked' ? 'escalations.resolve' : 'escalations.ack',
          input: { id: str(r['id']) },
        },
      });
    });
  return { items, full: found.full, covers: [] };
}

/** Runs parked because no live worker has their workflow version (partial index orch_runs_parked). */
export async function parkedRuns(scope: SourceScope): Promise<Found> {
  const found = await rows(
    scope,
    `SELECT id, workflow, version, updated_at FROM orch_runs
     WHERE tenant_id = ? AND status = 'version_unavailable' ORDER BY updated_at`,
    [scope.tenantId],
  );
  const items = found.rows.map((r) =>
    item(scope, {
      kind: 'version_unavailable',
      id: str(r['id']),
      runId: str(r['id']),
      since: num(r['updated_at']),
      reason: `no live worker has ${str(r['workflow'])} version ${num(r['version'])}; deploy it to resume the run, or cancel it`,
      action: { syscall: 'runs.cancel', input: { runId: str(r['id']) } },
    }),
  );
  return { items, full: found.full, covers: [] };
}
