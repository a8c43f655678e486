/**
 * @module strata/orchestration
 * Durable runs: workflows and agents as functions whose steps are journaled, replayed after a
 * crash and never repeated; a scheduler (queues, priorities, delays, idempotency keys, retries
 * with backoff, timeouts, cancellation that reaches children); workers that claim runs with leases
 * renewed by heartbeats (`FOR UPDATE SKIP LOCKED` and LISTEN/NOTIFY on PostgreSQL).
 *
 * @example
 * const engine = await Engine.open({ store });
 * engine.register(defineWorkflow({ name: 'greet', version: 1, input: z.string(), output: z.string() },
 *   async (ctx, name) => ctx.step('hello', () => `hello ${name}`)));
 * const worker = new Worker(engine); await worker.start();
 * const run = await engine.start('greet', 'ada', { principal });
 */
export {
  defineWorkflow,
  eraseWorkflow,
  type RetryOptions,
  type WorkflowDefinition,
  type WorkflowOptions,
} from './define.ts';
export { WorkflowContext, type ChildHandle, type ChildOptions, type StepOptions } from './context.ts';
export { Engine, WAKE_CHANNEL, type ListFilter, type StartOptions } from './engine.ts';
export { Worker, type WorkerOptions } from './worker.ts';
export { removeConcurrencyLimit, type ConcurrencyLimit, type LimitScope } from './limits.ts';
export type { RateLimit } from './rate-limits.ts';
export {
  SYSCALL_PREFIXES,
  type SyscallNamespace,
  type SyscallNamespaces,
  type SyscallPrefix,
} from './syscall-proxy.ts';
export {
  fireDueSchedules,
  listSchedules,
  nextFire,
  removeSchedule,
  upsertSchedule,
  type Schedule,
} from './schedules.ts';
export { ORCHESTRATION_LAYER, orchestrationMigrations } from './migrations.ts';
export { TERMINAL, type JournalRow, type Run, type RunError, type RunStatus } from './run-row.ts';
export { RUN_CHANGED, type RunChangedPayload } from './run-events.ts';
export { runSyscalls } from './syscalls.ts';
export { runSchema, timelineEntrySchema, toTimelineEntry, type TimelineEntry } from './timeline.ts';
export { waitForRun, type WaitForRunOptions } from './wait.ts';
// Fleet counters (issue 12): on /metrics and `fleet.report`.
export { registerFleetMetrics, type FleetMetricsOptions } from './fleet-metrics.ts';
export { fleetReport, type FleetReport, type FleetReportOptions } from './fleet-report.ts';
// The reliability report (issue 14): `fleet.reliability`.
export { reliabilityReport } from './reliability/report.ts';
export { otherFailures } from './reliability/format.ts';
export {
  reliabilityReportSchema,
  type LayerReliability,
  type ReliabilityInput,
  type ReliabilityReport,
} from './reliability/schema.ts';
export {
  listProblems,
  PROBLEM_KINDS,
  type Problem,
  type ProblemKind,
  type Problems,
} from './problems/index.ts';
export { fleetSnapshot, fleetSnapshotSchema, type FleetSnapshot } from './fleet-snapshot/index.ts';
// Cost per task (issue 12): `billing.cost` over the attributed `syscall.cost` meter events.
export {
  costReport,
  COST_GROUPS,
  WASTE_REASONS,
  type CostGroup,
  type CostQuery,
  type CostReport,
  type WasteReason,
} from './finops/cost-report.ts';
export { costReportSchema, costSyscall } from './finops/cost-syscall.ts';
export { COST_CSV_HEADER, toCsv } from './finops/cost-csv.ts';
// Supervision trees (issue 12): the public part (the rest stays in ./supervision/index.ts).
export {
  defineSupervisor,
  fleetSyscalls,
  fleetTree,
  reportProgress,
  StallWatch,
  type Stall,
  type StallPolicy,
  type SupervisorSpec,
  type TreeNode,
} from './supervision/index.ts';
// Approvals and escalations (issue 12).
export {
  approvalSyscalls,
  openFleetAlerts,
  type Approval,
  type ApprovalDecision,
  type ApproveOptions,
  type FleetAlerts,
} from './approvals/index.ts';
export {
  escalationSyscalls,
  Escalations,
  raiseEscalation,
  type Escalation,
  type RaiseInput,
  type Severity,
} from './escalations/index.ts';
// The durable agent loop (issue 12): defineAgent with a spec builds it; with a function it is
// defineWorkflow, as before.
export {
  AGENT_LAYER,
  agentMigrations,
  defineAgent,
  defineAgentLoop,
  loadPrompt,
  type AgentLoopSpec,
  type AgentOutput,
  type AgentTurn,
} from './agent/index.ts';
// Token streaming of runs' model calls (issue 12): the live side channel, kept apart from the journal.
export {
  eventId,
  parseCursor,
  RunStreams,
  STREAM_LAYER,
  streamMigrations,
  type StreamCursor,
  type StreamEvent,
} from './streaming/run-streams.ts';
// Budget exhaustion pauses runs; an approved raise resumes them (issue 12).
export {
  BudgetPauses,
  budgetPauseSchema,
  budgetPauseSyscalls,
  type BudgetPause,
  type BudgetRaiser,
} from './budget-pause/index.ts';
export const LAYER = { name: 'orchestration', status: 'built', issue: 3 } as const;
