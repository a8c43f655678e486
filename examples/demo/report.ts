/**
 * The demo's figures for one pass, read back through syscalls (the task board, the tracker over
 * MCP, the lead's inbox, the runs, `fleet.reliability` for the faults per layer, what recovered
 * them and the invariants, `fleet.report`, `billing.cost`), not from the demo's own bookkeeping
 * except the faults it made itself; and the report of both passes.
 */
import type { ReliabilityReport } from '../../src/orchestration/index.ts';
import type { FaultPlan } from './faults.ts';
import type { Mechanisms } from './mechanisms.ts';
import type { OperatorFigures } from './operator.ts';
import { fleetLayout } from './squads.ts';
import { SHOP_QUEUE } from './submit-patch.ts';
import { CALLS_PER_ISSUE } from './worker-agent.ts';

type Call = <T>(name: string, input: unknown) => Promise<T>;

interface FleetReport {
  restarts: { total: number };
  deaths: { detected: number };
  duplicateWork: { total: number };
  approvals: { decided: number };
}
interface MqEntry {
  author: string;
  state: string;
  files: string[];
  conflictFiles: string[] | null;
}
interface WorkerTests {
  passed: boolean;
  pass: number;
}
interface Fixed {
  workerTests: WorkerTests;
  integrationTest: boolean;
  staging: { ok: boolean; screenshot: string | null } | null;
  reviewed: boolean;
  paymentsApproval: boolean;
}
interface RunRow {
  status: string;
  attempt: number;
  leaseOwner: string | null;
  error?: { code: string; message: string };
  output?: { fixed: Fixed[]; escalated: number[]; testsFailed: { workerTests: WorkerTests }[] };
}
interface TrackerIssue {
  number: number;
  status: string;
}

const countBy = (keys: readonly string[]): Record<string, number> =>
  keys.reduce<Record<string, number>>((acc, k) => ({ ...acc, [k]: (acc[k] ?? 0) + 1 }), {});
const countKinds = (layers: ReliabilityReport['layers']): Record<string, number> => {
  const kinds: Record<string, number> = {};
  for (const l of layers) for (const [k, n] of Object.entries(l.faultsByKind)) kinds[k] = (kinds[k] ?? 0) + n;
  return kinds;
};
const rate = (n: number, of: number): number => (of ? Math.round((n / of) * 1e4) / 1e4 : 0);

/** The issue a queue entry's change is for: every fix's files are named after it. */
const issueOf = (e: MqEntry): number => Number(/issue-(\d+)/.exec(e.files.join(' '))?.[1] ?? 0);

/**
 * Once per (author, issue): a worker restarted by its supervisor runs its issue again and submits
 * the same fix again, and the queue tells it the same conflict (or rejects it) again.
 */
function oncePerFix<T extends { author: string; issue: number }>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((x) => {
    const key = `${x.author}#${x.issue}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface CollectOptions {
  plan: FaultPlan;
  mechanisms: Mechanisms;
  operator: OperatorFigures;
  lead: string;
  teamStatus: string;
  wallMs: number;
  victim: { id: string; killedAfterMs: number; killedAtEnded: number; heldAtKill: number };
  /** The raw pass's success, for the end-to-end figures of the pass with mechanisms. */
  measuredWithoutMechanisms?: number;
}

/** One line per layer of `fleet.reliability`: what was injected, what recovered it, what did not. */
const layerLine = (l: ReliabilityReport['layers'][number]) => ({
  syscalls: l.syscalls,
  faults: l.faultsInjected,
  failed_after_fault: l.failedAfterFault,
  recovered: l.recovered,
  unrecovered: l.unrecovered,
  failed_without_fault: l.failedWithoutFault,
  success_raw: l.successRaw,
  success_with_strata: l.successWithStrata,
});

export async function collectPass(call: Call, options: CollectOptions) {
  const { plan, mechanisms: m } = options;
  const taskBoard = await call<{ tasks: { status: string; key: string }[] }>('fleet.task.list', {
    limit: 1000,
  });
  const tasks = taskBoard.tasks.filter((t) => t.key.startsWith('issue-')); // not the queue's rework tasks
  const { entries } = await call<{ entries: MqEntry[] }>('mq.list', { queue: SHOP_QUEUE });
  const inState = (state: string) =>
    entries.filter((e) => e.state === state).map((e) => ({ ...e, issue: issueOf(e) }));
  const submits = await call<{
    runs: { input: { author: string; issue: number }; output?: { conflict: string | null } }[];
  }>('runs.list', { workflow: 'demo.submit_patch', status: 'completed', limit: 1000 });
  // Conflicts the queue named at submit (the patch no longer applies to main) or later (rework).
  const conflictNotices = [
    ...submits.runs.flatMap((r) => (r.output?.conflict ? [{ ...r.input, reason: r.output.conflict }] : [])),
    ...inState('needs_rework').map((e) => ({
      author: e.author,
      issue: e.issue,
      reason: `needs rework: ${(e.conflictFiles ?? []).join(', ')}`,
    })),
  ];
  const { messages } = await call<{ messages: { subject: string }[] }>('mail.list', {
    mailbox: options.lead,
    limit: 200,
  });
  const { runs } = await call<{ runs: RunRow[] }>('runs.list', { workflow: 'demo.worker', limit: 1000 });
  const fleet = await call<FleetReport>('fleet.report', {});
  const { escalations } = await call<{ escalations: { key: string }[] }>('escalations.list', { limit: 1000 });
  // The tracker is the sprint's source of truth: read its board back over MCP.
  const board = await call<{ structuredContent?: { issues: TrackerIssue[] } }>('tools.call', {
    tool: 'mcp.tracker.list_issues',
    arguments: {},
  });
  const tracker = countBy((board.structuredContent?.issues ?? []).map((i) => i.status));
  const reviews = await call<{ runs: unknown[] }>('runs.list', {
    workflow: 'demo.review',
    status: 'completed',
    limit: 1000,
  });
  const cost = await call<{ totals: { totalMicros: number }; currency: string }>('billing.cost', {
    groupBy: 'run',
  });
  const reliability = await call<ReliabilityReport>('fleet.reliability', {
    callsPerTask: CALLS_PER_ISSUE,
    ...(options.measuredWithoutMechanisms !== undefined
      ? { measuredWithoutMechanisms: options.measuredWithoutMechanisms }
      : {}),
  });
  const { invariants } = reliability;
  const chaosFaults = reliability.layers.reduce((n, l) => n + l.faultsInjected, 0);
  const completed = tasks.filter((t) => t.status === 'completed').length;
  const done = runs.filter((r) => r.status === 'completed');
  const fixed = done.flatMap((r) => r.output?.fixed ?? []);
  // What the workers' own test runs in their sandboxes said, of the runs that ended.
  const tested = [...fixed, ...done.flatMap((r) => r.output?.testsFailed ?? [])].map((f) => f.workerTests);
  // Escalated by their worker (the looping planner), the task handed back for a person.
  const escalatedTasks = done.flatMap((r) => r.output?.escalated ?? []).length;
  const layout = fleetLayout(plan.agents);
  const scratch = await call<{ resources: { state: string }[] }>('provision.list', { kind: 'sqlite' });
  const gone = scratch.resources.filter((x) => x.state === 'destroying' || x.state === 'destroyed');
  const stranded = runs.filter((r) => r.status === 'running' && r.leaseOwner === options.victim.id).length;
  const recoveredBy = reliability.mechanisms; // retry, fallback, restart, takeover, human
  const killed = options.victim.killedAfterMs >= 0 ? 1 : 0;
  const own = plan.counts.agentCrash + plan.counts.sandboxHang + killed;
  const subjects = new Set(messages.map((x) => x.subject));
  return {
    mechanisms: m.on ? 'on' : 'off',
    team: options.teamStatus,
    squads: layout.squads.length,
    workers: layout.workers,
    reviewers: layout.squads.length,
    tasks: tasks.length,
    completed,
    escalated: escalatedTasks,
    escalations: escalations.length,
    tasks_lost: tasks.length - completed - escalatedTasks,
    tracker,
    reviews: reviews.runs.length,
    looping_worker: `worker-${plan.looper}`,
    // A task ends well when it is completed, or escalated to a person as designed (the looping planner).
    success_rate: rate(completed + escalatedTasks, tasks.length),
    faults_injected: chaosFaults + own,
    faults: {
      chaos: chaosFaults,
      chaos_by_kind: countKinds(reliability.layers),
      failed_after_fault: reliability.layers.reduce((n, l) => n + l.failedAfterFault, 0),
      agent_crash: plan.counts.agentCrash,
      sandbox_hang: plan.counts.sandboxHang,
      worker_kill: killed,
    },
    layers: Object.fromEntries(reliability.layers.map((l) => [l.layer, layerLine(l)])),
    recovered_by: recoveredBy,
    unrecovered: reliability.layers.reduce((n, l) => n + l.unrecovered, 0),
    // Runs retried by replay after the demo's own crashes and hangs (not injected by the kernel).
    run_retries: done.reduce((n, r) => n + r.attempt - 1, 0),
    supervisor_restarts: fleet.restarts.total,
    time_to_recover_p50_ms: reliability.timeToRecoverMs.all?.p50 ?? null,
    time_to_recover_p95_ms: reliability.timeToRecoverMs.all?.p95 ?? null,
    end_to_end: reliability.endToEnd,
    invariants,
    worker_killed: options.victim.killedAfterMs >= 0,
    worker_killed_after_ms: options.victim.killedAfterMs,
    worker_killed_at_runs_ended: options.victim.killedAtEnded,
    // Runs the worker held when it died (it may have suspended its last one just before the kill).
    worker_held_runs_at_kill: options.victim.heldAtKill,
    runs_taken_over: fleet.deaths.detected,
    runs_stranded: stranded,
    runs_failed: countBy(runs.filter((r) => r.status === 'failed').map((r) => r.error?.code ?? '-')),
    // One message per failure code, so a reader sees why without opening the store.
    runs_failed_why: [
      ...new Set(
        runs.flatMap((r) => (r.status === 'failed' && r.error ? [r.error.message.slice(0, 200)] : [])),
      ),
    ],
    duplicated_side_effects:
      messages.length -
      subjects.size +
      fleet.duplicateWork.total +
      invariants.duplicatedSideEffects.duplicates,
    budget_exceeded: !invariants.budget.holds,
    approvals: { decided: fleet.approvals.decided, ...options.operator },
    cost_usd: cost.totals.totalMicros / 1e6,
    cost_per_completed_task_usd: completed ? cost.totals.totalMicros / 1e6 / completed : null,
    merge_queue: {
      submitted: entries.length,
      merged: inState('merged').length,
      rejected: oncePerFix(inState('rejected')).map((e) => e.author),
      conflicts: oncePerFix(conflictNotices).map(({ author, issue, reason }) => ({ author, issue, reason })),
      // How often the queue told of a conflict, a restarted worker's same fix again included.
      conflict_notices: conflictNotices.length,
      undecided: entries.filter((e) => e.state === 'queued' || e.state === 'testing').length,
      main_moves: invariants.mainGreen.merges,
    },
    // Each fix's own tests, run by its worker in its sandbox before it may go to the queue.
    worker_test_runs: {
      runs: tested.length,
      passed: tested.filter((t) => t.passed).length,
      failed: tested.filter((t) => !t.passed).length,
      tests_passed: tested.reduce((n, t) => n + t.pass, 0),
    },
    payments_changes_approved: fixed.filter((f) => f.paymentsApproval).length,
    scratch_databases: {
      provisioned: scratch.resources.length,
      destroyed: gone.length,
      left: scratch.resources.length - gone.length,
      tests_passed: fixed.filter((f) => f.integrationTest).length,
    },
    staging_checks: {
      passed: fixed.filter((f) => f.staging?.ok === true).length,
      screenshots: fixed.filter((f) => f.staging?.screenshot).length,
    },
    main_green_at_every_merge: invariants.mainGreen.checked && invariants.mainGreen.holds,
    audit: {
      verified: invariants.auditChain.checked && invariants.auditChain.holds,
      entries: invariants.auditChain.entries,
      head: invariants.auditChain.headHash,
    },
    wall_ms: options.wallMs,
  };
}

export type PassReport = Awaited<ReturnType<typeof collectPass>>;

/** The report of a demo run: the pass with mechanisms (or the only pass) leads, the raw pass beside it. */
export function demoReport(
  seed: number,
  agents: number,
  on: PassReport | undefined,
  off: PassReport | undefined,
) {
  const main = on ?? off;
  if (!main) throw new Error('no pass ran');
  return {
    seed,
    agents,
    success_rate_with_mechanisms: on?.success_rate ?? null,
    success_rate_raw: off?.success_rate ?? null,
    squads: main.squads,
    tasks: main.tasks,
    completed: main.completed,
    escalated: main.escalated,
    tasks_lost: main.tasks_lost,
    duplicated_side_effects: main.duplicated_side_effects,
    budget_exceeded: main.budget_exceeded,
    faults_injected: main.faults_injected,
    recovered_by: main.recovered_by,
    time_to_recover_p50_ms: main.time_to_recover_p50_ms,
    time_to_recover_p95_ms: main.time_to_recover_p95_ms,
    worker_killed: main.worker_killed,
    main_green_at_every_merge: main.main_green_at_every_merge,
    merge_queue: main.merge_queue,
    runs_taken_over: main.runs_taken_over,
    audit: main.audit,
    passes: { ...(off ? { off } : {}), ...(on ? { on } : {}) },
  };
}

export type DemoReport = ReturnType<typeof demoReport>;
