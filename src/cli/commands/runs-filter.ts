/**
 * @module cli/commands/runs-filter
 * The run filter flags shared by `strata runs list` and `strata runs bulk`, so a listing and the
 * bulk action previewed from it select the same runs. Each flag maps to one field of the `runs.list`
 * / `runs.count` filter; the server validates them (and names a bad field), the CLI only parses
 * times and amounts so a typo is a usage error before any call.
 */
import { InvalidArgumentError, type Command } from 'commander';

const STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'version_unavailable'];

export interface FilterFlags {
  status?: string[];
  workflow?: string;
  parent?: string;
  root?: string;
  supervisor?: string;
  agent?: string;
  errorCode?: string;
  createdAfter?: number;
  createdBefore?: number;
  minCost?: number;
  search?: string;
}

/** `--status failed --status cancelled` or `--status failed,cancelled`. */
function collectStatus(text: string, previous: string[] | undefined): string[] {
  const added = text.split(',').map((s) => s.trim());
  const bad = added.find((s) => !STATUSES.includes(s));
  if (bad !== undefined) throw new InvalidArgumentError(`"${bad}" is not one of ${STATUSES.join(', ')}`);
  return [...(previous ?? []), ...added];
}

/** Epoch milliseconds, or an ISO date/time such as 2026-12-04 or 2026-12-04T10:00:00Z. */
function parseTime(text: string): number {
  const ms = /^\d+$/.test(text.trim()) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new InvalidArgumentError('expected epoch milliseconds or an ISO date such as 2026-12-04T10:00:00Z');
  return ms;
}

function parseUsd(text: string): number {
  if (!/^\d{1,9}(\.\d{1,6})?$/.test(text.trim()))
    throw new InvalidArgumentError('expected an amount in USD such as 0.25');
  return Number(text);
}

export function addFilterOptions(command: Command): Command {
  return command
    .option(
      '--status <status>',
      `only runs in this status, repeatable or comma-separated (${STATUSES.join(', ')})`,
      collectStatus,
    )
    .option('--workflow <name>', 'only runs of this workflow')
    .option('--parent <runId>', 'only children of this run')
    .option('--root <runId>', 'only runs of the tree under this root run')
    .option('--supervisor <runId>', 'only this run and the runs below it (a supervision subtree)')
    .option('--agent <principalId>', 'only runs acting as this principal (agent id or API key id)')
    .option('--error-code <code>', 'only runs that ended with this error code (E_TIMEOUT …)')
    .option('--created-after <time>', 'created at or after (epoch ms or ISO date)', parseTime)
    .option('--created-before <time>', 'created before (epoch ms or ISO date)', parseTime)
    .option('--min-cost <usd>', 'only runs whose own metered cost is at least this', parseUsd)
    .option('--search <text>', 'run id prefix or workflow name substring');
}

/** The `runs.list` / `runs.count` filter the flags describe (unset flags left out). */
export function filterOf(flags: FilterFlags): Record<string, unknown> {
  const status = flags.status?.length === 1 ? flags.status[0] : flags.status;
  const filter = {
    status,
    workflow: flags.workflow,
    parentId: flags.parent,
    rootId: flags.root,
    supervisor: flags.supervisor,
    agent: flags.agent,
    errorCode: flags.errorCode,
    createdAfter: flags.createdAfter,
    createdBefore: flags.createdBefore,
    minCostUsd: flags.minCost,
    q: flags.search,
  };
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
}

/** The flags again, to print a command that repeats this selection. */
export function flagsOf(flags: FilterFlags): string {
  const filter = filterOf(flags);
  const names: Record<string, string> = {
    parentId: 'parent',
    rootId: 'root',
    errorCode: 'error-code',
    createdAfter: 'created-after',
    createdBefore: 'created-before',
    minCostUsd: 'min-cost',
    q: 'search',
  };
  return Object.entries(filter)
    .map(([key, value]) => `--${names[key] ?? key} ${JSON.stringify([value].flat().join(','))}`)
    .join(' ');
}
