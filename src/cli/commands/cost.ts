/**
 * @module cli/commands/cost
 * `strata cost [--by tree|run|agent|model|tool|tenant|project] [--since 7d|<ISO date>] [--tenant <id>]
 * [--root <runId>] [--project <name>] [--limit <n>] [--csv]`: cost per task of the caller's tenant
 * through the `billing.cost` syscall of a running server (`strata up`), so the call is
 * capability-checked and audited. Text is a table with committed and waste apart, then the waste
 * by reason and the cost per completed task; `--json` prints the syscall's output; `--csv` prints
 * one CSV line per group (RFC 4180). The group and filters are checked by the server, so a bad one
 * fails with the syscall's own code (`E_INVALID_INPUT`).
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { CostReport } from '../../orchestration/index.ts';
import { toCsv } from '../../orchestration/finops/cost-csv.ts';
import { configOf, outputOf } from '../context.ts';
import { table } from '../output.ts';
import { parseTtl } from '../parse.ts';
import { remoteOf } from '../remote.ts';

/** `7d`, `30m`, `3600` (ago) or an ISO 8601 date: epoch ms. */
export function parseSince(text: string, now = Date.now()): number {
  if (/^\d+[smhd]?$/.test(text.trim())) return now - parseTtl(text) * 1000;
  const at = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(at))
    throw new InvalidArgumentError('expected a duration such as 1h or 7d, or a date such as 2026-11-01');
  return at;
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected an integer');
  return n; // the server refuses a non-positive one with E_INVALID_INPUT
}

/** The report as people read it. */
export function renderCost(r: CostReport): string {
  const tree = r.groupBy === 'tree';
  const header = [
    r.groupBy.toUpperCase(),
    ...(tree ? ['WORKFLOW', 'STATUS'] : []),
    'TOTAL',
    'COMMITTED',
    'WASTE',
    'CALLS',
  ];
  const rows = r.groups.map((g) => [
    g.key,
    ...(tree ? [g.workflow ?? '-', g.status ?? '-'] : []),
    g.total,
    g.committed,
    g.waste,
    String(g.calls),
  ]);
  const t = r.totals;
  rows.push(['TOTAL', ...(tree ? ['', ''] : []), t.total, t.committed, t.waste, String(t.calls)]);
  const per = r.tasks.costPerCompletedTask;
  return [
    `Cost by ${r.groupBy} (${r.currency})`,
    table(header, rows),
    ...(r.omitted > 0 ? [`(${r.omitted} smaller groups not shown: raise --limit)`] : []),
    `waste: ${r.waste.length === 0 ? 'none' : r.waste.map((w) => `${w.reason} ${w.amount} (${w.calls} calls)`).join(', ')}`,
    `completed tasks: ${r.tasks.completed}, cost ${r.tasks.cost}, per task ${per ?? '-'}`,
  ].join('\n');
}

interface CostOptions {
  by?: string;
  since?: number;
  tenant?: string;
  root?: string;
  project?: string;
  limit?: number;
  csv?: boolean;
}

export function registerCost(program: Command): void {
  program
    .command('cost')
    .description('cost per task: spend by run tree, run, agent, model, tool, tenant or project, waste apart')
    .option('--by <group>', 'tree, run, agent, model, tool, tenant or project (default tree)')
    .option('--since <when>', 'only spend since a duration ago (1h, 7d) or a date (2026-11-01)', (t) =>
      parseSince(t),
    )
    .option('--tenant <id>', "the caller's tenant (others are not visible)")
    .option('--root <runId>', 'one run tree, by its root run id')
    .option('--project <name>', 'one project')
    .option('--limit <n>', 'at most n groups, largest first', parseLimit)
    .option('--csv', 'print CSV (one line per group) instead of a table')
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option('--key <apiKey>', 'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)')
    .action(async (options: CostOptions, command: Command) => {
      const opts = command.optsWithGlobals<{ url?: string; key?: string; json?: boolean }>();
      if (options.csv && opts.json) throw new InvalidArgumentError('--csv and --json exclude each other');
      const remote = remoteOf(opts, configOf(command));
      const report = await remote.call<CostReport>('billing.cost', {
        ...(options.by === undefined ? {} : { groupBy: options.by }),
        ...(options.since === undefined ? {} : { since: options.since }),
        ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
        ...(options.root === undefined ? {} : { root: options.root }),
        ...(options.project === undefined ? {} : { project: options.project }),
        ...(options.limit === undefined ? {} : { limit: options.limit }),
      });
      if (options.csv) {
        process.stdout.write(toCsv(report));
        return;
      }
      outputOf(command).result(report, () => renderCost(report));
    });
}
