/**
 * @module cli/commands/fleet
 * `strata fleet tree [runId]`: a supervision tree (supervisor, children, status, incarnation,
 * restarts) from a running server through the `fleet.tree` syscall; without a run id, every
 * running root supervisor of the caller's tenant. `--json` prints `{ trees: [...] }`.
 * `strata fleet report [--since 1h]`: the fleet counters of the tenant (`fleet.report`).
 * `strata fleet reliability` (or `fleet report --reliability`): the reliability report (fleet-reliability.ts).
 * `strata fleet tasks [--status open]`: the task board (`fleet.task.list`).
 * `strata fleet pauses [--status all]`: runs paused on exhausted budgets (`runs.budget_pauses.list`).
 * `strata fleet top`: the fleet now as a live table (`fleet.snapshot`, fleet-top.ts).
 */
import type { Command } from 'commander';
import type { BudgetPause, FleetReport, TreeNode } from '../../orchestration/index.ts';
import type { Task } from '../../orchestration/tasks/index.ts';
import { configOf, outputOf } from '../context.ts';
import { parseTtl } from '../parse.ts';
import { remoteOf } from '../remote.ts';
import { printReliability, reliabilityOptions, type ReliabilityFlags } from './fleet-reliability.ts';
import { registerFleetTop } from './fleet-top.ts';

/** One line per node, indented by depth: child id, run, workflow, status, incarnation, restarts. */
export function renderTree(node: TreeNode, depth = 0): string[] {
  const parts = [
    node.childId ?? '(root)',
    node.runId,
    node.workflow,
    node.status,
    ...(node.strategy ? [node.strategy] : []),
    ...(node.incarnation === undefined ? [] : [`incarnation ${node.incarnation}`]),
    ...(node.restarts ? [`restarts ${node.restarts}`] : []),
    ...(node.error ? [`${node.error.code}`] : []),
  ];
  const line = `${'  '.repeat(depth)}${depth > 0 ? '└ ' : ''}${parts.join('  ')}`;
  return [line, ...node.children.flatMap((c) => renderTree(c, depth + 1))];
}

const ms = (value: number | null): string => (value === null ? '-' : `${Math.round(value)} ms`);

/** The report as lines: syscalls per layer, then one line per counter. */
export function renderReport(r: FleetReport): string {
  const layers = r.syscalls.map(
    (s) =>
      `  ${s.layer.padEnd(14)} ok ${s.ok}  failed ${s.failed}  denied ${s.denied}${s.throttled ? `  throttled ${s.throttled}` : ''}`,
  );
  const cost = r.tasks.costPerCompletedTaskMicros;
  return [
    'syscalls by layer',
    ...(layers.length ? layers : ['  (none)']),
    `restarts             ${r.restarts.total}`,
    `stalls               ${r.stalls}`,
    `deaths detected      ${r.deaths.detected} (detection p50 ${ms(r.deaths.detectionLatencyMs?.p50 ?? null)}, p95 ${ms(r.deaths.detectionLatencyMs?.p95 ?? null)}; heartbeat to resume p95 ${ms(r.deaths.heartbeatToResumeMs?.p95 ?? null)}; self-reclaimed ${r.deaths.selfReclaimed})`,
    `duplicate work       ${r.duplicateWork.total}`,
    `escalations          ${r.escalations.total} (open ${r.escalations.open}, acked ${r.escalations.acked}, median to ack ${ms(r.escalations.medianTimeToAckMs)})`,
    `approvals            ${r.approvals.total} (pending ${r.approvals.pending}, decided ${r.approvals.decided}, timed out ${r.approvals.timedOut}, median to decision ${ms(r.approvals.medianTimeToDecisionMs)})`,
    `completed tasks      ${r.tasks.completed}`,
    `cost per task        ${cost === null ? `- (${r.tasks.reason ?? 'unknown'})` : `${cost} micros`}`,
  ].join('\n');
}

export function registerFleet(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('supervision trees of agents on a running server')
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option(
      '--key <apiKey>',
      'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)',
    );

  fleet
    .command('tree')
    .description('show a supervision tree: supervisor, children, status, incarnation, restarts')
    .argument('[runId]', 'a supervisor run (default: every running root supervisor)')
    .action(async (runId: string | undefined, _options: unknown, command: Command) => {
      const opts = command.optsWithGlobals<{ url?: string; key?: string }>();
      const remote = remoteOf(opts, configOf(command));
      const result = await remote.call<{ trees: TreeNode[] }>(
        'fleet.tree',
        runId === undefined ? {} : { runId },
      );
      outputOf(command).result(result, () =>
        result.trees.length === 0
          ? 'no running supervisors'
          : result.trees.flatMap((t) => renderTree(t)).join('\n'),
      );
    });

  reliabilityOptions(
    fleet
      .command('report')
      .description(
        'fleet counters: syscalls per layer, restarts, stalls, deaths, duplicate work, escalations, approvals, cost per task',
      )
      .option('--since <duration>', 'only the last 45s, 30m, 1h, 7d (default: all history)', parseTtl)
      .option('--reliability', 'the reliability report instead (as `strata fleet reliability`)'),
  ).action(async (options: ReliabilityFlags & { reliability?: boolean }, command: Command) => {
    if (options.reliability) return printReliability(command, options);
    const opts = command.optsWithGlobals<{ url?: string; key?: string }>();
    const remote = remoteOf(opts, configOf(command));
    const report = await remote.call<FleetReport>(
      'fleet.report',
      options.since === undefined ? {} : { sinceMs: options.since * 1000 },
    );
    outputOf(command).result(report, () => renderReport(report));
  });

  reliabilityOptions(
    fleet
      .command('reliability')
      .description(
        'reliability per layer: faults injected, recovered by retry/fallback/restart/takeover/human, success raw vs with Strata; end to end; invariants',
      )
      .option('--since <duration>', 'only the last 45s, 30m, 1h, 7d (default: all history)', parseTtl),
  ).action((options: ReliabilityFlags, command: Command) => printReliability(command, options));

  listCommand(fleet, {
    name: 'tasks',
    description: 'the task board: each task, its status and holder (run and incarnation)',
    statusHelp: 'open, claimed or completed',
    syscall: 'fleet.task.list',
    field: 'tasks',
    empty: 'no tasks',
    line: (t: Task) => [
      t.id,
      t.status.padEnd(9),
      t.holder ? `${t.holder.runId}#${t.holder.incarnation}` : '-',
      `claims ${t.claims}`,
      t.title,
    ],
  });
  listCommand(fleet, {
    name: 'pauses',
    description:
      'runs paused on an exhausted budget: the budget, how many runs wait, the approval that decides',
    statusHelp: 'paused (default), resumed, rejected or all',
    defaultStatus: 'paused',
    syscall: 'runs.budget_pauses.list',
    field: 'pauses',
    empty: 'no budget pauses',
    line: (p: BudgetPause) => [
      p.id,
      p.status.padEnd(8),
      `${p.budget.period} ${p.budget.scope}${p.budget.subject ? ` ${p.budget.subject}` : ''}`,
      `${p.budget.limit} ${p.budget.currency}`,
      `runs ${p.runs}`,
      p.approvalId ? `approval ${p.approvalId}` : 'no approval yet',
    ],
  });
  registerFleetTop(fleet);
}

/** A `<name> [--status]` subcommand listing one syscall's items: a line each, or `--json`. */
function listCommand<T>(
  parent: Command,
  spec: {
    name: string;
    description: string;
    statusHelp: string;
    defaultStatus?: string;
    syscall: string;
    field: string;
    empty: string;
    line: (item: T) => string[];
  },
): void {
  parent
    .command(spec.name)
    .description(spec.description)
    .option('--status <status>', spec.statusHelp)
    .action(async (options: { status?: string }, command: Command) => {
      const opts = command.optsWithGlobals<{ url?: string; key?: string }>();
      const remote = remoteOf(opts, configOf(command));
      const status = options.status ?? spec.defaultStatus;
      const result = await remote.call<Record<string, T[]>>(
        spec.syscall,
        status === undefined ? { limit: 1000 } : { status, limit: 1000 },
      );
      const items = result[spec.field] ?? [];
      outputOf(command).result(result, () =>
        items.length === 0 ? spec.empty : items.map((item) => spec.line(item).join('  ')).join('\n'),
      );
    });
}
