/**
 * @module cli/commands/fleet-reliability
 * `strata fleet reliability [--since 1h] [--without-mechanisms 0.86] [--layers a,b]` (also
 * `strata fleet report --reliability`): the reliability report of the tenant (`fleet.reliability`)
 * as a table per layer, the end-to-end rates, times to recover, recovery cost and invariants;
 * `--json` prints the syscall's output unchanged.
 */
import type { Command } from 'commander';
import type { ReliabilityInput, ReliabilityReport } from '../../orchestration/index.ts';
import { otherFailures } from '../../orchestration/reliability/format.ts';
import { configOf, outputOf } from '../context.ts';
import { remoteOf } from '../remote.ts';

const pct = (v: number | null): string => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
const ms = (q: { p50: number; p95: number } | null): string =>
  q === null ? '-' : `p50 ${Math.round(q.p50)} ms, p95 ${Math.round(q.p95)} ms`;

const COLUMNS = [
  'layer',
  'calls',
  'faults',
  'retry',
  'fallbk',
  'restart',
  'takeovr',
  'human',
  'unrecov',
  'raw',
  'strata',
];

/** Columns padded to their widest cell. */
function table(rows: string[][]): string[] {
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '),
  );
}

export function renderReliability(r: ReliabilityReport): string {
  const rows = r.layers.map((l) => [
    l.layer,
    String(l.syscalls),
    String(l.faultsInjected),
    String(l.recovered.retry),
    String(l.recovered.fallback),
    String(l.recovered.restart),
    String(l.recovered.takeover),
    String(l.recovered.human),
    String(l.unrecovered),
    pct(l.successRaw),
    pct(l.successWithStrata),
  ]);
  const e = r.endToEnd;
  const inv = r.invariants;
  const check = (name: string, c: { checked: boolean; holds: boolean; reason?: string }, what: string) =>
    `  ${name.padEnd(24)} ${!c.checked ? `not checked (${c.reason ?? 'unknown'})` : c.holds ? `holds (${what})` : `BROKEN (${what})`}`;
  const others = r.layers
    .filter((l) => Object.keys(l.failedWithoutFault).length > 0)
    .map((l) => `${l.layer} ${otherFailures(l)}`);
  return [
    ...table([COLUMNS, ...rows]),
    ...(others.length ? [`failed with no fault (by code): ${others.join('; ')}`] : []),
    '',
    `end to end over ${e.layersUsed.join(', ') || '(no layers)'}`,
    `  predicted raw (product of layers)  ${pct(e.predictedRaw)}`,
    `  predicted raw per task (r^N)       ${pct(e.predictedRawPerTask)} (r ${pct(e.perCallRaw)}, N ${e.callsPerTask === null ? '-' : e.callsPerTask.toFixed(1)})`,
    `  measured without mechanisms        ${pct(e.measuredWithoutMechanisms)}`,
    `  measured with mechanisms           ${pct(e.measuredWithMechanisms)} (${e.tasks.completed} of ${e.tasks.completed + e.tasks.failed} finished tasks; ${e.tasks.live} live)`,
    `time to recover: calls ${ms(r.timeToRecoverMs.calls)}; runs ${ms(r.timeToRecoverMs.runs)}; takeovers ${ms(r.timeToRecoverMs.takeovers)}`,
    `recovering cost: ${r.recoveryCost.retriedCalls} retried calls (${Math.round(r.recoveryCost.retriedCallsMs)} ms), ${r.recoveryCost.restartedRuns} restarted runs (${Math.round(r.recoveryCost.restartedRunsMs)} ms, ${r.recoveryCost.restartedRunsCostMicros} micros)`,
    'invariants',
    check(
      'budget never exceeded',
      inv.budget,
      `${inv.budget.periods} budget periods, ${inv.budget.exceeded} exceeded`,
    ),
    check(
      'no duplicated effects',
      inv.duplicatedSideEffects,
      `${inv.duplicatedSideEffects.checkedMails} mails, ${inv.duplicatedSideEffects.duplicates} duplicates`,
    ),
    check(
      'audit chain verified',
      inv.auditChain,
      `${inv.auditChain.entries} entries, head ${inv.auditChain.headHash?.slice(0, 16) ?? '-'}`,
    ),
    check(
      'main green at merges',
      inv.mainGreen,
      `${inv.mainGreen.merges} merges, ${inv.mainGreen.notGreen} not green`,
    ),
    ...(r.truncated ? ['(a bounded scan hit its limit: the newest rows only)'] : []),
  ].join('\n');
}

export interface ReliabilityFlags {
  readonly since?: number;
  readonly withoutMechanisms?: string;
  readonly layers?: string;
}

/** The syscall's input from the command's flags (`since` in seconds, as parseTtl gives it). */
export function reliabilityInput(flags: ReliabilityFlags): ReliabilityInput {
  return {
    ...(flags.since === undefined ? {} : { sinceMs: flags.since * 1000 }),
    ...(flags.withoutMechanisms === undefined
      ? {}
      : { measuredWithoutMechanisms: Number(flags.withoutMechanisms) }),
    ...(flags.layers === undefined ? {} : { layers: flags.layers.split(',').map((l) => l.trim()) }),
  };
}

export async function printReliability(command: Command, flags: ReliabilityFlags): Promise<void> {
  const opts = command.optsWithGlobals<{ url?: string; key?: string }>();
  const remote = remoteOf(opts, configOf(command));
  const report = await remote.call<ReliabilityReport>('fleet.reliability', reliabilityInput(flags));
  outputOf(command).result(report, () => renderReliability(report));
}

/** `--without-mechanisms` and `--layers`, shared by `fleet reliability` and `fleet report --reliability`. */
export function reliabilityOptions(command: Command): Command {
  return command
    .option('--without-mechanisms <share>', 'end-to-end success measured with the mechanisms off (0..1)')
    .option(
      '--layers <a,b>',
      'the layers a task uses, for the compound rate (default: every layer with calls)',
    );
}
