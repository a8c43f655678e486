/**
 * @module orchestration/escalations
 * Escalations (issue 12): P0–P2 items deduplicated by key, routed per tenant, acked, bumped one
 * severity when nobody acks within the stale threshold, resolved. Other code raises one with
 * {@link raiseEscalation} (inside its own transaction) or the `escalations.raise` syscall.
 *
 * @example
 * await raiseEscalation(tx, tenantId, { key: `budget:${runTree}`, severity: 'P1',
 *   title: 'budget exhausted', source: 'budget' });
 */
export { raiseForDeadLetters } from './dead-letters.ts';
export {
  SEVERITIES,
  escalationSchema,
  routeSchema,
  type Escalation,
  type EscalationStatus,
  type Route,
  type Severity,
} from './escalation-row.ts';
export {
  Escalations,
  raiseEscalation,
  resolveEscalationByKey,
  type EscalationFilter,
  type Notifier,
  type RaiseInput,
} from './escalations.ts';
export { ESCALATIONS_LAYER, escalationMigrations } from './migrations.ts';
export { ESCALATION_SWEEP_MS, startEscalationSweeper, sweepEscalations } from './sweeper.ts';
export { escalationSyscalls } from './syscalls.ts';
