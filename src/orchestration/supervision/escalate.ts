/**
 * @module orchestration/supervision/escalate
 * The escalations a supervisor raises on its own (issue 12): a root supervisor exceeding its
 * intensity raises a P0 (one item per supervisor run), and the mass-death breaker opening raises a
 * P1 (one item per supervisor run, its count the number of openings).
 *
 * Why inside the supervisor's loop, in a transaction step (`ctx.transaction`), rather than a sweep
 * like dead-letters.ts: a breaker opening leaves no trace in the run row for a sweep to find, and
 * a transaction step commits the raise together with its journal entry, so a worker killed at any
 * point raises it exactly once (replay returns the journaled result instead of raising again).
 * A store without the escalations layer (an engine used without `openFleetAlerts`) raises nothing.
 */
import type { Transaction } from '../../kernel/index.ts';
import type { WorkflowContext } from '../context.ts';
import { raiseEscalation, type RaiseInput } from '../escalations/escalations.ts';
import { ESCALATIONS_LAYER } from '../escalations/migrations.ts';
import type { SupervisorEvent } from './spec.ts';

type Escalated = Extract<SupervisorEvent, { type: 'breaker_open' | 'intensity_exceeded' }>;

/** The item an event raises for a supervisor run, or none (intensity below the root fails to its parent). */
export function supervisorEscalation(
  event: Escalated,
  supervisor: { name: string; runId: string; root: boolean },
): RaiseInput | undefined {
  if (event.type === 'breaker_open')
    return {
      key: `supervisor-breaker:${supervisor.runId}`,
      severity: 'P1',
      title: `mass-death breaker of supervisor ${supervisor.name} opened`,
      detail: `run ${supervisor.runId}: ${event.deaths} abnormal exits; restarts held until ${new Date(event.until).toISOString()}`,
      source: 'supervision',
    };
  if (!supervisor.root) return undefined;
  return {
    key: `supervisor-intensity:${supervisor.runId}`,
    severity: 'P0',
    title: `root supervisor ${supervisor.name} gave up`,
    detail: `run ${supervisor.runId}: ${event.restarts} restarts in ${event.periodMs} ms exceeded its intensity; its children were stopped`,
    source: 'supervision',
  };
}

async function hasEscalations(tx: Transaction): Promise<boolean> {
  const row = await tx.get('SELECT 1 AS present FROM strata_migrations WHERE layer = ? LIMIT 1', [
    ESCALATIONS_LAYER,
  ]);
  return row !== undefined;
}

/** Raises the event's escalation exactly once, journaled as the transaction step `escalate:<type>`. */
export function escalateSupervisorEvent(
  ctx: WorkflowContext,
  name: string,
  event: Escalated,
): Promise<string | null> {
  return ctx.transaction(`escalate:${event.type}`, async (tx) => {
    const run = await tx.get<{ tenant_id: string; parent_id: string | null }>(
      'SELECT tenant_id, parent_id FROM orch_runs WHERE id = ?',
      [ctx.runId],
    );
    if (!run || !(await hasEscalations(tx))) return null;
    const input = supervisorEscalation(event, { name, runId: ctx.runId, root: run.parent_id === null });
    if (!input) return null;
    const escalation = await raiseEscalation(tx, run.tenant_id, input);
    return escalation.id;
  });
}
