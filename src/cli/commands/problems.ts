/**
 * @module cli/commands/problems
 * `strata problems [--kind approval,stalled_run] [--json]`: the "needs you" list of the caller's
 * tenant from a running server (`fleet.problems`, with the server's drivers that are degraded or
 * unhealthy, kind `driver`): one line per item (kind, id, how long it has
 * waited, reason, and the syscall that acts on it), then a count line. Exits 0 whether or not the
 * list is empty: an empty list is an answer, not a failure (a script reads `count` from --json).
 */
import type { Command } from 'commander';
import { shortDuration } from '../../orchestration/problems/age.ts';
import type { Problem, Problems } from '../../orchestration/problems/types.ts';
import { configOf, outputOf } from '../context.ts';
import { remoteOf } from '../remote.ts';

export function problemLine(p: Problem): string {
  const severity = p.severity ? `${p.severity} ` : '';
  const target = Object.values(p.action.input).map(String).join(' ');
  return `${p.kind.padEnd(19)}  ${p.id}  ${shortDuration(p.ageMs).padStart(4)}  ${severity}${p.reason}  -> ${p.action.syscall} ${target}`;
}

export function renderProblems(result: Problems): string {
  const more = result.truncated.length ? ` (more of: ${result.truncated.join(', ')})` : '';
  const count =
    result.count === 0
      ? 'nothing needs you'
      : `${result.count} item${result.count === 1 ? '' : 's'} need you${more}`;
  return [...result.items.map(problemLine), count].join('\n');
}

export function registerProblems(program: Command): void {
  program
    .command('problems')
    .description(
      'what waits on a person: approvals, budget pauses, stalled runs, supervisors, escalations, rejected merge-queue changes, stopped queues, parked runs, drivers that are not healthy',
    )
    .option('--kind <kinds>', 'only these kinds, comma-separated (e.g. approval,stalled_run)')
    .option('--limit <n>', 'items per kind (default 100)', (v) => Number.parseInt(v, 10))
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option('--key <apiKey>', 'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)')
    .action(
      async (options: { kind?: string; limit?: number; url?: string; key?: string }, command: Command) => {
        const remote = remoteOf(options, configOf(command));
        const kinds = options.kind
          ?.split(',')
          .map((k) => k.trim())
          .filter(Boolean);
        const result = await remote.call<Problems>('fleet.problems', {
          ...(kinds?.length ? { kinds } : {}),
          ...(options.limit === undefined ? {} : { limit: options.limit }),
        });
        outputOf(command).result(result, () => renderProblems(result));
      },
    );
}
