/**
 * The demo's figures, read back from the store through syscalls (the task board, the lead's
 * inbox, the runs, `fleet.report` over the audit log, `billing.cost`), not from the demo's own
 * bookkeeping, except the faults it injected. Printed as a short table, then one JSON line.
 */
import type { FaultPlan } from './faults.ts';
import type { OperatorFigures } from './operator.ts';

type Call = <T>(name: string, input: unknown) => Promise<T>;

/** Strata's six layers, by the first segment of the syscalls each one serves. */
const LAYERS: Record<string, readonly string[]> = {
  compute: ['sandbox', 'browser'],
  identity: ['mail', 'identity', 'a2a'],
  memory: ['memory'],
  tools: ['tools'],
  provisioning: ['billing', 'provision', 'model'],
  orchestration: ['fleet', 'runs', 'approvals', 'escalations'],
};

interface FleetReport {
  syscalls: { layer: string; ok: number; failed: number; denied: number }[];
  restarts: { total: number };
  deaths: { detected: number; selfReclaimed: number };
  duplicateWork: { total: number };
  approvals: { decided: number };
}
interface RunRow {
  status: string;
  error?: { code: string };
  output?: { sandboxAttempts: number; sandboxesLost: number; refunded: boolean };
}

const countBy = (keys: readonly string[]): Record<string, number> =>
  keys.reduce<Record<string, number>>((acc, k) => ({ ...acc, [k]: (acc[k] ?? 0) + 1 }), {});

export async function collectReport(
  call: Call,
  options: { plan: FaultPlan; operator: OperatorFigures; lead: string; wallMs: number; teamStatus: string },
) {
  const { plan } = options;
  const { tasks } = await call<{ tasks: { status: string }[] }>('fleet.task.list', { limit: 1000 });
  const { messages } = await call<{ messages: { subject: string }[] }>('mail.list', {
    mailbox: options.lead,
    limit: 200,
  });
  const { runs } = await call<{ runs: RunRow[] }>('runs.list', { workflow: 'demo.triage', limit: 1000 });
  const fleet = await call<FleetReport>('fleet.report', {});
  const cost = await call<{ totals: { totalMicros: number }; currency: string }>('billing.cost', {
    groupBy: 'run',
  });
  const done = runs.filter((r) => r.status === 'completed');
  const tasksDone = tasks.filter((t) => t.status === 'completed').length;
  const layers = Object.fromEntries(
    Object.entries(LAYERS).map(([layer, prefixes]) => {
      const rows = fleet.syscalls.filter((s) => prefixes.includes(s.layer));
      const ok = rows.reduce((n, r) => n + r.ok, 0);
      const total = rows.reduce((n, r) => n + r.ok + r.failed + r.denied, 0);
      return [layer, { syscalls: total, ok, success: total ? Math.round((ok / total) * 1e4) / 1e4 : null }];
    }),
  );
  const sandboxInjected = [...Array(plan.agents).keys()].filter((i) => plan.sandboxFault(i) !== 'ok').length;
  const faults = { ...plan.counts, sandbox: sandboxInjected };
  const modelInjected = plan.counts.model429 + plan.counts.model503;
  const recovered = {
    modelRetries: plan.modelRecovered,
    sandboxRetries: done.reduce((n, r) => n + (r.output?.sandboxAttempts ?? 1) - 1, 0),
    sandboxesRecreated: done.reduce((n, r) => n + (r.output?.sandboxesLost ?? 0), 0),
    supervisorRestarts: fleet.restarts.total,
    leaseTakeovers: fleet.deaths.detected,
    selfReclaimed: fleet.deaths.selfReclaimed,
  };
  const subjects = new Set(messages.map((m) => m.subject));
  return {
    agents: plan.agents,
    seed: plan.seed,
    team: options.teamStatus,
    tasks: { total: tasks.length, done: tasksDone, lost: tasks.length - tasksDone },
    runs: {
      completed: done.length,
      failed: countBy(runs.filter((r) => r.status === 'failed').map((r) => r.error?.code ?? '-')),
    },
    mails: { received: messages.length, duplicated: messages.length - subjects.size },
    faults: {
      ...faults,
      total: modelInjected + sandboxInjected + plan.counts.agentCrash + plan.counts.workerKill,
    },
    recovered,
    approvals: { decided: fleet.approvals.decided, ...options.operator },
    duplicateWork: fleet.duplicateWork.total,
    cost: {
      currency: cost.currency,
      totalMicros: cost.totals.totalMicros,
      perCompletedTaskMicros: tasksDone ? Math.round(cost.totals.totalMicros / tasksDone) : null,
    },
    layers,
    wallMs: options.wallMs,
  };
}

export type DemoReport = Awaited<ReturnType<typeof collectReport>>;

export function printReport(r: DemoReport): void {
  const usd = (micros: number | null) => (micros === null ? '-' : (micros / 1e6).toFixed(4));
  const f = r.faults;
  console.log(`\n${r.agents} agents, seed ${r.seed}, ${(r.wallMs / 1000).toFixed(1)} s, team ${r.team}`);
  console.log(
    `tasks done ${r.tasks.done}/${r.tasks.total} (lost ${r.tasks.lost}); mails to the lead ${r.mails.received} (duplicated ${r.mails.duplicated})`,
  );
  console.log(
    `faults injected ${f.total}: model 429 ${f.model429}, model 503 ${f.model503}, sandbox crash/hang ${f.sandbox}, agent crash ${f.agentCrash}, worker kill ${f.workerKill}`,
  );
  const rec = r.recovered;
  console.log(
    `recovered by: model retries ${rec.modelRetries}, sandbox re-runs ${rec.sandboxRetries}, sandboxes re-made ${rec.sandboxesRecreated}, supervisor restarts ${rec.supervisorRestarts}, lease takeovers ${rec.leaseTakeovers} (own expired leases ${rec.selfReclaimed})`,
  );
  console.log(
    `approvals decided ${r.approvals.decided} (budget raises ${r.approvals.budgetRaises}, refunds ${r.approvals.refundsApproved}); duplicate work ${r.duplicateWork}`,
  );
  console.log(
    `agent runs completed ${r.runs.completed}, failed (then restarted) ${JSON.stringify(r.runs.failed)}`,
  );
  console.log(
    `cost ${usd(r.cost.totalMicros)} ${r.cost.currency}, per completed task ${usd(r.cost.perCompletedTaskMicros)}`,
  );
  console.log('layer          syscalls  success');
  for (const [name, l] of Object.entries(r.layers))
    console.log(
      `${name.padEnd(14)} ${String(l.syscalls).padStart(8)}  ${l.success === null ? '-' : (l.success * 100).toFixed(2) + ' %'}`,
    );
  console.log(JSON.stringify(r));
}
