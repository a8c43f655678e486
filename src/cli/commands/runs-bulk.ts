/**
 * @module cli/commands/runs-bulk
 * `strata runs bulk cancel|retry <filter flags>`: without `--yes` it only previews (`runs.count`)
 * and prints the command that confirms; with `--yes` it acts (`runs.bulk`) on the runs matching,
 * provided their number is still `--expect` (the preview's count; when left out, the count taken
 * just before acting). A stale preview is refused by the server with E_CONFLICT and the new count.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { Output } from '../output.ts';
import { parseInteger } from '../parse.ts';
import type { Remote } from '../remote.ts';
import { filterOf, flagsOf, type FilterFlags } from './runs-filter.ts';

export interface BulkFlags extends FilterFlags {
  yes?: boolean;
  expect?: number;
  limit?: number;
}

type Count = { count: number; capped: boolean };
type Bulk = { done: string[]; skipped: { id: string; code: string }[]; remaining: number };

export function parseAction(text: string): 'cancel' | 'retry' {
  if (text !== 'cancel' && text !== 'retry') throw new InvalidArgumentError('expected cancel or retry');
  return text;
}

export async function bulkAction(
  io: { remote: Remote; out: Output },
  action: 'cancel' | 'retry',
  flags: BulkFlags,
): Promise<void> {
  const { remote, out } = io;
  const filter = filterOf(flags);
  if (flags.yes !== true) {
    const preview = await remote.call<Count>('runs.count', filter);
    const n = `${preview.count}${preview.capped ? '+' : ''}`;
    const confirm = `strata runs bulk ${action} ${flagsOf(flags)} --expect ${preview.count} --yes`.replace(
      / +/g,
      ' ',
    );
    out.result({ action, ...preview, confirm }, () => `${n} runs match; to ${action} them: ${confirm}`);
    return;
  }
  const expect = flags.expect ?? (await remote.call<Count>('runs.count', filter)).count;
  const result = await remote.call<Bulk>('runs.bulk', { action, filter, expect, limit: flags.limit });
  out.result(result, () =>
    [
      `${action}: ${result.done.length} done, ${result.skipped.length} skipped, ${result.remaining} left`,
      ...result.skipped.map((s) => `  skipped ${s.id}: ${s.code}`),
    ].join('\n'),
  );
}

export function addBulkOptions(command: Command): Command {
  return command
    .option('--yes', 'act; without it, only show how many runs match')
    .option('--expect <n>', 'act only if exactly this many runs match (the preview’s count)', parseInteger)
    .option('--limit <n>', 'act on at most this many, newest first (default and max 1000)', parseInteger);
}
