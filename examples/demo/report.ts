/**
 * The demo's figures for one pass, read back from the store through syscalls (the task board, the
 * lead's inbox, the runs, `fleet.reliability` for the faults per layer, what recovered them and
 * the invariants, `fleet.report`, `billing.cost`), not from the demo's own bookkeeping except the
 * faults it made itself; and the report of both passes.
 */
import type { ReliabilityReport } from '../../src/orchestration/index.ts';
import type { FaultPlan } from './faults.ts';
import type { Mechanisms } from './mechanisms.ts';
import type { OperatorFigures } from './operator.ts';
import { SHOP_QUEUE } from './submit-patch.ts';
import { AGENT_CALLS } from './triage-agent.ts';

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
  conflictFiles: string[] | null;
}
interface RunRow {
  status: string;
  attempt: number;
  leaseOwner: string | null;
  error?: { code: string };
  output?: { integrationTest?: boolean; staging?: { ok: boolean; screenshot: string | null } | null };
}

const countBy = (keys: readonly string[]): Record<string, number> =>
  keys.reduce<Record<string, number>>((acc, k) => ({ ...acc, [k]: (acc[k] ?? 0) + 1 }), {});
const countKinds = (layers: ReliabilityReport['layers']): Record<string, number> => {
  const kinds: Record<string, number> = {};
  for (const l of layers) for (const [k, n] of Object.entries(l.faultsByKind)) kinds[k] = (kinds[k] ?? 0) + n;
  return kinds;
};
const rate = (n: number, of: number): number => (of ? Math.round((n / of) * 1e4) / 1e4 : 0);

export interface CollectOptions {
  plan: FaultPlan;
  mechanisms: Mechanisms;
  operator: OperatorFigures;
  lead: string;
  teamStatus: string;
  wallMs: number;
  victim: { id: string; killedAfterMs: number; killedAtEnded: number };
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
  success_raw: l.successRaw,
  success_with_strata: l.successWithStrata,
});

export async function collectPass(call: Call, options: CollectOptions) {
  const { plan, mechanisms: m } = options;
  const board = await call<{ tasks: { status: string; key: string }[] }>('fleet.task.list', { limit: 1000 });
  const tasks = board.tasks.filter((t) => t.key.startsWith('issue-')); // not the queue's rework tasks
  const { entries } = await call<{ entries: MqEntry[] }>('mq.list', { queue: SHOP_QUEUE });
  const authors = (state: string) => entries.filter((e) => e.state === state).map((e) => e.author);
  const submits = await call<{ runs: { input: { author: string }; output?: { conflict: string | null } }[] }>(
    'runs.list',
    { workflow: 'demo.submit_patch', status: 'completed', limit: 1000 },
  );
  // Conflicts the queue named at submit (the patch no longer applies to main) or later (rework).
  const conflicts = [
    ...submits.runs.flatMap((r) =>
      r.output?.conflict ? [{ author: r.input.author, reason: r.output.conflict }] : [],
    ),
    ...entries
      .filter((e) => e.state === 'needs_rework')
      .map((e) => ({ author: e.author, reason: `needs rework: ${(e.conflictFiles ?? []).join(', ')}` })),
  ];
  const { messages } = await call<{ messages: { subject: string }[] }>('mail.list', {
    mailbox: options.lead,
    limit: 200,
  });
  const { runs } = await call<{ runs: RunRow[] }>('runs.list', { workflow: 'demo.triage', limit: 1000 });
  const fleet = await call<FleetReport>('fleet.report', {});
  const { escalations } = await call<{ escalations: unknown[] }>('escalations.list', { limit: 1000 });
  const cost = await call<{ totals: { totalMicros: number }; currency: string }>('billing.cost', {
    groupBy: 'run',
  });
  const reliability = await call<ReliabilityReport>('fleet.reliability', {
    callsPerTask: AGENT_CALLS,
    ...(options.measuredWithoutMechanisms !== undefined
      ? { measuredWithoutMechanisms: options.measuredWithoutMechanisms }
      : {}),
  });
  const { invariants } = reliability;
  const chaosFaults = reliability.layers.reduce((n, l) => n + l.faultsInjected, 0);
  const completed = tasks.filter((t) => t.status === 'completed').length;
  const done = runs.filter((r) => r.status === 'completed');
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
    tasks: tasks.length,
    completed,
    escalated: escalations.length,
    tasks_lost: tasks.length - completed,
    success_rate: rate(completed, tasks.length),
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
    runs_taken_over: fleet.deaths.detected,
    runs_stranded: stranded,
    runs_failed: countBy(runs.filter((r) => r.status === 'failed').map((r) => r.error?.code ?? '-')),
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
      merged: authors('merged').length,
      rejected: authors('rejected'),
      conflicts,
      undecided: entries.filter((e) => e.state === 'queued' || e.state === 'testing').length,
      main_moves: invariants.mainGreen.merges,
    },
    scratch_databases: {
      provisioned: scratch.resources.length,
      destroyed: gone.length,
      left: scratch.resources.length - gone.length,
      tests_passed: done.filter((r) => r.output?.integrationTest === true).length,
    },
    staging_checks: {
      passed: done.filter((r) => r.output?.staging?.ok === true).length,
      screenshots: done.filter((r) => r.output?.staging?.screenshot).length,
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
