/** The demo's two passes side by side, as a plain table, for a person reading the terminal. */
import type { DemoReport, PassReport } from './report.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const share = (x: number | null) => (x === null ? '-' : pct(x));
const ms = (x: number | null) => (x === null ? '-' : `${x} ms`);

const ROWS: [string, (p: PassReport) => string][] = [
  ['squads (workers + reviewer)', (p) => `${p.squads} (${p.workers} + ${p.reviewers})`],
  ['tasks completed', (p) => `${p.completed}/${p.tasks}`],
  ['  escalated (looping planner)', (p) => String(p.escalated)],
  ['tracker: done / escalated', (p) => `${p.tracker['done'] ?? 0} / ${p.tracker['escalated'] ?? 0}`],
  ['reviews over A2A', (p) => String(p.reviews)],
  ['success', (p) => pct(p.success_rate)],
  ['tasks lost', (p) => String(p.tasks_lost)],
  ['faults injected', (p) => String(p.faults_injected)],
  ['  chaos (by the kernel)', (p) => String(p.faults.chaos)],
  ['  failed the call', (p) => String(p.faults.failed_after_fault)],
  ['recovered: retry', (p) => String(p.recovered_by.retry)],
  ['recovered: model fallback', (p) => String(p.recovered_by.fallback)],
  ['recovered: restart', (p) => String(p.recovered_by.restart)],
  ['recovered: lease takeover', (p) => String(p.recovered_by.takeover)],
  ['recovered: human', (p) => String(p.recovered_by.human)],
  ['unrecovered', (p) => String(p.unrecovered)],
  ['runs retried by replay', (p) => String(p.run_retries)],
  ['runs stranded (dead worker)', (p) => String(p.runs_stranded)],
  ['time to recover p50/p95', (p) => `${ms(p.time_to_recover_p50_ms)} / ${ms(p.time_to_recover_p95_ms)}`],
  ['tests passed in sandboxes', (p) => `${p.worker_test_runs.passed}/${p.worker_test_runs.runs}`],
  ['merge queue: merged', (p) => `${p.merge_queue.merged}/${p.merge_queue.submitted}`],
  ['  rejected (tests broke)', (p) => p.merge_queue.rejected.join(' ') || '-'],
  ['  conflicts', (p) => p.merge_queue.conflicts.map((e) => e.author).join(' ') || '-'],
  ['  main green at every merge', (p) => String(p.main_green_at_every_merge)],
  ['scratch databases made/left', (p) => `${p.scratch_databases.provisioned} / ${p.scratch_databases.left}`],
  ['staging checked (screenshots)', (p) => `${p.staging_checks.passed} (${p.staging_checks.screenshots})`],
  ['duplicated side effects', (p) => String(p.duplicated_side_effects)],
  ['budget exceeded', (p) => String(p.budget_exceeded)],
  ['approvals decided', (p) => String(p.approvals.decided)],
  ['  payments changes approved', (p) => String(p.payments_changes_approved)],
  ['cost USD', (p) => p.cost_usd.toFixed(4)],
  ['audit verified (entries)', (p) => `${p.audit.verified} (${p.audit.entries})`],
  ['all invariants hold', (p) => String(p.invariants.allHold)],
  ['wall time', (p) => `${(p.wall_ms / 1000).toFixed(1)} s`],
];

export function printReport(r: DemoReport): void {
  const passes = Object.entries<PassReport>(r.passes);
  console.log(`\n${r.agents} agents, seed ${r.seed}: mechanisms ${passes.map(([k]) => k).join(' vs ')}`);
  console.log(`${''.padEnd(28)}${passes.map(([k]) => `mechanisms ${k}`.padStart(26)).join('')}`);
  for (const [label, cell] of ROWS)
    console.log(`${label.padEnd(28)}${passes.map(([, p]) => ` ${cell(p)}`.padStart(26)).join('')}`);
  const layers = [...new Set(passes.flatMap(([, p]) => Object.keys(p.layers)))].sort();
  console.log('per layer (fleet.reliability): faults / unrecovered / success raw → with Strata');
  for (const layer of layers)
    console.log(
      `  ${layer.padEnd(26)}${passes
        .map(([, p]) => {
          const l = p.layers[layer];
          const cell = l
            ? `${l.faults} / ${l.unrecovered} / ${share(l.success_raw)}→${share(l.success_with_strata)}`
            : '-';
          return ` ${cell}`.padStart(26);
        })
        .join('')}`,
    );
  // What else lowers a layer's rate: failed calls no injected fault touched (in the pass with
  // mechanisms, mostly sandbox.exec E_NOT_FOUND: a sandbox gone with the killed worker, which the run
  // that took over finds missing and makes again).
  for (const [name, p] of passes) {
    const others = Object.entries(p.layers)
      .filter(([, l]) => Object.keys(l.failed_without_fault).length > 0)
      .map(
        ([layer, l]) =>
          `${layer} ${Object.entries(l.failed_without_fault)
            .map(([code, n]) => `${code} ${n}`)
            .join(', ')}`,
      );
    if (others.length) console.log(`  failed with no fault (mechanisms ${name}): ${others.join('; ')}`);
  }
  const e2e = r.passes.on?.end_to_end ?? r.passes.off?.end_to_end;
  if (e2e)
    console.log(
      `end to end: predicted raw per task ${share(e2e.predictedRawPerTask)} (${e2e.callsPerTask ?? '-'} calls at ${share(e2e.perCallRaw)}), measured without mechanisms ${share(r.success_rate_raw)}, with ${share(r.success_rate_with_mechanisms)}`,
    );
}
