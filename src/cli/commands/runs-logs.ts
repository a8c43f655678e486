/**
 * @module cli/commands/runs-logs
 * `strata runs logs <runId> [--follow]`: a run's journal as a timeline, one line per entry (seq,
 * kind, name, status, duration). With `--follow` it polls `runs.journal` every 500 ms, printing
 * entries as they appear or change (a wait that ends, a step that fails), until the run is
 * terminal; then it prints the outcome and exits 0 if the run completed, else with the exit code
 * of the run's error code. Each poll is one audited, read-only syscall.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isStrataErrorCode, StrataError } from '../../kernel/errors.ts';
import type { Run, TimelineEntry } from '../../orchestration/index.ts';
import { TERMINAL } from '../../orchestration/run-row.ts';
import { when, type Output } from '../output.ts';
import type { Remote } from '../remote.ts';
import { printTokens } from './runs-tokens.ts';

export const FOLLOW_INTERVAL_MS = 500;
/** How long --follow rides out a server that is restarting or unreachable. */
const TOLERATE_UNAVAILABLE_MS = 30_000;
/** How long --follow waits, once the run is terminal, for the last streamed tokens. */
const TOKENS_GRACE_MS = 2_000;

interface Journal {
  readonly run: Run;
  readonly entries: readonly TimelineEntry[];
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const TIMELINE_HEADER = `${'SEQ'.padStart(4)}  ${'KIND'.padEnd(7)}  ${'NAME'.padEnd(24)}  ${'STATUS'.padEnd(7)}  DURATION`;

/** One timeline line; fixed columns, so lines printed one at a time still align. */
export function timelineLine(e: TimelineEntry): string {
  const took =
    e.durationMs !== null
      ? duration(e.durationMs)
      : e.status === 'pending' && e.wakeAt !== null
        ? `until ${when(e.wakeAt)}`
        : '-';
  const error = e.error ? `  ${e.error.code}: ${e.error.message}` : '';
  return `${String(e.seq).padStart(4)}  ${e.kind.padEnd(7)}  ${e.name.padEnd(24)}  ${e.status.padEnd(7)}  ${took}${error}`;
}

export function outcomeLine(run: Run): string {
  if (run.status === 'completed') return `run ${run.id} completed: ${JSON.stringify(run.output ?? null)}`;
  const error = run.error ? `: ${run.error.code}: ${run.error.message}` : '';
  return `run ${run.id} is ${run.status}${error}`;
}

/** A failed or cancelled run as an error whose exit code is its error code's (E_INTERNAL if unknown). */
function runFailure(run: Run): StrataError {
  const code = run.error && isStrataErrorCode(run.error.code) ? run.error.code : 'E_INTERNAL';
  const reason = run.error ? `${run.error.code}: ${run.error.message}` : 'no error recorded';
  return new StrataError(code, `run ${run.id} ${run.status}: ${reason}`, {
    runId: run.id,
    status: run.status,
    error: run.error,
  });
}

/** `logs` without --follow: the timeline as it is now. */
export async function printLogs(remote: Remote, runId: string, out: Output): Promise<void> {
  const journal = await remote.call<Journal>('runs.journal', { runId });
  out.result(journal, () =>
    [TIMELINE_HEADER, ...journal.entries.map(timelineLine), outcomeLine(journal.run)].join('\n'),
  );
}

/** `logs --follow`: prints changes until the run is terminal; throws the run's error if it did not complete. */
export async function followLogs(
  remote: Remote,
  runId: string,
  out: Output,
  intervalMs = FOLLOW_INTERVAL_MS,
): Promise<void> {
  const printed = new Map<number, string>();
  let unreachableSince: number | undefined;
  if (!out.json) process.stdout.write(`${TIMELINE_HEADER}\n`);
  // Model output streams between timeline lines; a line starts on a fresh line.
  let midLine = false;
  const tokens = new AbortController();
  const streaming = out.json
    ? Promise.resolve()
    : printTokens(
        remote,
        runId,
        (text) => {
          process.stdout.write(text);
          midLine = !text.endsWith('\n');
        },
        tokens.signal,
      );
  const line = (text: string): void => {
    process.stdout.write(`${midLine ? '\n' : ''}${text}\n`);
    midLine = false;
  };
  // The stream ends by itself with `done`; wait briefly for its last deltas, then stop it.
  const settleTokens = async (): Promise<void> => {
    await Promise.race([streaming, sleep(TOKENS_GRACE_MS, undefined, { ref: false })]);
    tokens.abort();
    await streaming;
    if (midLine) process.stdout.write('\n');
    midLine = false;
  };
  try {
    await followJournal();
  } finally {
    await settleTokens();
  }

  async function followJournal(): Promise<void> {
    for (;;) {
      let journal: Journal;
      try {
        journal = await remote.call<Journal>('runs.journal', { runId });
        unreachableSince = undefined;
      } catch (error) {
        // A restart of the server must not end a follow; anything else (not found, denied) does.
        const transient = error instanceof StrataError && error.retryable;
        unreachableSince ??= Date.now();
        if (!transient || Date.now() - unreachableSince > TOLERATE_UNAVAILABLE_MS) throw error;
        out.note(`(${error.message}; retrying)`);
        await sleep(intervalMs);
        continue;
      }
      for (const entry of journal.entries) {
        const entryLine = timelineLine(entry);
        if (printed.get(entry.seq) === entryLine) continue;
        printed.set(entry.seq, entryLine);
        if (!out.json) line(entryLine);
      }
      const { run } = journal;
      if (TERMINAL.has(run.status)) {
        await settleTokens();
        if (run.status !== 'completed') {
          if (!out.json) line(outcomeLine(run));
          throw runFailure(run);
        }
        out.result(journal, () => outcomeLine(run));
        return;
      }
      await sleep(intervalMs);
    }
  }
}
