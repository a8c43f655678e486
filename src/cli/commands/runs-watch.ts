/**
 * @module cli/commands/runs-watch
 * `strata runs watch [--status s,…] [--workflow w] [-o text|jsonl]`: one line per run status change
 * of the caller's tenant, as the server publishes them (`run:changed` events on
 * `GET /v1/events?topics=run:changed`), until Ctrl-C (exit 0).
 *
 * The stream is `strata events watch`'s (commands/events.ts): a dropped connection resumes from the
 * last seq seen (`Last-Event-ID`), so no change is printed twice or skipped, and a `reset` (the
 * cursor fell out of the server's buffer) is printed as a line saying changes were skipped. Filters
 * apply here, to the events' payloads: the stream has no per-field filter.
 *
 * Text lines are `<time>  <status>  <run id>  <workflow>[  attempt n][  <error code>][  child of
 * <parent>]`, with the time of day on a terminal and a full ISO timestamp otherwise (logs, pipes).
 * `-o jsonl` (or `--json`) prints `{ seq, ts, id, workflow, status, attempt, parentId?, rootId?,
 * error? }` per line.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { configOf, outputOf } from '../context.ts';
import { remoteOf, type Remote } from '../remote.ts';
import { watchEvents } from './events.ts';

const STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'version_unavailable'];
export const RUN_CHANGED = 'run:changed';

export interface RunChange {
  readonly seq: number;
  readonly ts: number;
  readonly id: string;
  readonly workflow: string;
  readonly status: string;
  readonly attempt?: number;
  readonly parentId?: string;
  readonly rootId?: string;
  readonly error?: { readonly code: string };
}

export interface RunWatchFilter {
  readonly statuses?: ReadonlySet<string>;
  readonly workflow?: string;
}

/** A stream line: an event as `{ seq, topic, payload, ts }`, or `{ event: 'reset', seq }`. */
type StreamLine =
  | { seq: number; topic: string; payload: Omit<RunChange, 'seq' | 'ts'>; ts: number }
  | { event: 'reset'; seq: number };

export function parseStatuses(text: string): Set<string> {
  const statuses = text.split(',').map((s) => s.trim());
  const unknown = statuses.filter((s) => !STATUSES.includes(s));
  if (unknown.length)
    throw new InvalidArgumentError(`not a run status: ${unknown.join(', ')} (one of ${STATUSES.join(', ')})`);
  return new Set(statuses);
}

/** The time column: the time of day on a terminal, a full ISO timestamp in logs and pipes. */
export function timeOf(ms: number, tty: boolean): string {
  const iso = new Date(ms).toISOString();
  return tty ? iso.slice(11, 23) : iso;
}

export function runChangeLine(
  change: RunChange | { reset: number },
  format: 'text' | 'jsonl',
  tty: boolean,
): string {
  if ('reset' in change)
    return format === 'jsonl'
      ? JSON.stringify({ event: 'reset', seq: change.reset })
      : `-- reset at seq ${change.reset}: changes were skipped; list the runs again (strata runs ls) --`;
  if (format === 'jsonl') return JSON.stringify(change);
  return [
    timeOf(change.ts, tty),
    change.status.padEnd(9),
    change.id,
    change.workflow,
    ...(change.attempt !== undefined && change.attempt > 1 ? [`attempt ${change.attempt}`] : []),
    ...(change.error ? [change.error.code] : []),
    ...(change.parentId ? [`child of ${change.parentId}`] : []),
  ].join('  ');
}

/** The run changes (and resets) of the stream's lines that pass `filter`, in stream order. */
export function runChangeOf(line: string, filter: RunWatchFilter): RunChange | { reset: number } | undefined {
  const parsed = JSON.parse(line) as StreamLine;
  if ('event' in parsed) return { reset: parsed.seq };
  if (parsed.topic !== RUN_CHANGED) return undefined;
  const change = { seq: parsed.seq, ts: parsed.ts, ...parsed.payload };
  if (filter.statuses && !filter.statuses.has(change.status)) return undefined;
  if (filter.workflow !== undefined && change.workflow !== filter.workflow) return undefined;
  return change;
}

/** Calls `onChange` per run change (or reset) until `signal`; resumes dropped connections. */
export function streamRunChanges(
  remote: Remote,
  filter: RunWatchFilter,
  onChange: (change: RunChange | { reset: number }) => void,
  signal: AbortSignal,
): Promise<void> {
  return watchEvents(
    remote,
    { topics: RUN_CHANGED, format: 'jsonl', tty: false },
    (line) => {
      const change = runChangeOf(line, filter);
      if (change) onChange(change);
    },
    signal,
  );
}

/** Runs `watch` until Ctrl-C or SIGTERM, which end it normally (exit 0). */
export async function untilInterrupted(watch: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    await watch(stop.signal);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

/** Adds `watch` under the `runs` group (whose --url/--key it inherits). */
export function registerRunsWatch(program: Command): void {
  const runs = program.commands.find((c) => c.name() === 'runs');
  if (!runs) throw new Error('register the runs commands first');
  runs
    .command('watch')
    .description('print one line per run status change as it happens, until Ctrl-C')
    .option(
      '--status <statuses>',
      `only these statuses, comma-separated (${STATUSES.join(', ')})`,
      parseStatuses,
    )
    .option('--workflow <name>', 'only runs of this workflow')
    .addOption(new Option('-o, --output <format>', 'line format').choices(['text', 'jsonl']).default('text'))
    .action(
      async (
        options: { status?: Set<string>; workflow?: string; output?: 'text' | 'jsonl' },
        command: Command,
      ) => {
        const opts = command.optsWithGlobals<{ url?: string; key?: string }>();
        const remote = remoteOf(opts, configOf(command));
        const format = outputOf(command).json ? 'jsonl' : (options.output ?? 'text');
        const tty = process.stdout.isTTY === true;
        await untilInterrupted((signal) =>
          streamRunChanges(
            remote,
            {
              ...(options.status ? { statuses: options.status } : {}),
              ...(options.workflow ? { workflow: options.workflow } : {}),
            },
            (change) => process.stdout.write(`${runChangeLine(change, format, tty)}\n`),
            signal,
          ),
        );
      },
    );
}
