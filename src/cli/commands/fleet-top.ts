/**
 * @module cli/commands/fleet-top
 * `strata fleet top [--once] [--interval 2s]`: the tenant's fleet as a live table (`fleet.snapshot`:
 * runs by status, completions per second, agents, stalled and budget-paused runs, queue depths,
 * workers and leases, cost burn against budgets), redrawn in place on a terminal every interval and
 * soon after any run changes (`run:changed` on the event stream, as `strata runs watch` reads it).
 * Read-only: it calls `fleet.snapshot` and reads events, nothing else.
 *
 * When stdout is not a terminal (a log, a pipe) each refresh prints one plain line, prefixed with
 * its ISO timestamp, instead of redrawing. `--once` prints the table once and exits; `--json` prints
 * the snapshot as one JSON document and exits. Events only hasten refreshes (at most one per
 * 250 ms): a key without `kernel.events.read` still refreshes every interval, and says so.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { isStrataError } from '../../kernel/errors.ts';
import type { FleetSnapshot } from '../../orchestration/fleet-snapshot/index.ts';
import { shortDuration } from '../../orchestration/problems/age.ts';
import { configOf, outputOf } from '../context.ts';
import { table } from '../output.ts';
import { parseTtl } from '../parse.ts';
import { remoteOf, type Remote } from '../remote.ts';
import { streamRunChanges, timeOf, untilInterrupted } from './runs-watch.ts';

const MIN_GAP_MS = 250;
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const BARS = '▁▂▃▄▅▆▇█';

/** Completions per second as a bar per second, tallest = the window's busiest second. */
function sparkline(values: readonly number[]): string {
  const max = Math.max(1, ...values);
  return values.map((v) => (v === 0 ? ' ' : BARS[Math.ceil((v / max) * BARS.length) - 1])).join('');
}

const rate = (perSec: number): string => `${perSec.toFixed(2)}/s`;
const indent = (text: string): string[] => text.split('\n').map((line) => `  ${line}`);

/** The snapshot as the table `fleet top` draws (no escape codes). */
export function renderSnapshot(s: FleetSnapshot): string[] {
  const r = s.runs.byStatus;
  const a = s.agents.byState;
  const t = s.throughput;
  const lines = [
    `runs      queued ${r.queued}  running ${r.running}  waiting ${r.waiting}  completed ${r.completed}  failed ${r.failed}  cancelled ${r.cancelled}  parked ${r.version_unavailable}  (total ${s.runs.total})`,
    `last 60s  completed ${t.completed} (${rate(t.completedPerSec)})  failed ${t.failed} (${rate(t.failedPerSec)})  |${sparkline(t.perSecond.map((b) => b.completed + b.failed))}|`,
    `agents    running ${a.running}  waiting ${a.waiting}  queued ${a.queued}  parked ${a.version_unavailable}  (total ${s.agents.total})`,
    `attention stalled ${s.attention.stalled}  budget-paused ${s.attention.budgetPaused}${s.attention.truncated ? '  (or more)' : ''}`,
    ...(s.chaos?.enabled ? ['FAULT INJECTION IS ACTIVE (strata chaos)'] : []),
    '',
    `queues    ${s.queues.queued} queued`,
  ];
  if (s.queues.byWorkflow.length)
    lines.push(
      ...indent(
        table(
          ['WORKFLOW', 'QUEUED', 'OLDEST'],
          s.queues.byWorkflow.map((q) => [
            q.workflow,
            String(q.queued),
            shortDuration(s.generatedAt - q.oldestAt),
          ]),
        ),
      ),
    );
  lines.push(
    '',
    `workers   ${s.workers.live} live  leases ${s.workers.leases}  expired ${s.workers.expiredLeases}  takeovers (60s) ${s.workers.takeovers}`,
  );
  if (s.workers.list.length)
    lines.push(
      ...indent(
        table(
          ['WORKER', 'LIVE', 'SEEN', 'LEASES', 'EXPIRED', 'NEXT EXPIRY'],
          s.workers.list.map((w) => [
            w.id,
            w.live ? 'yes' : 'no',
            w.seenAt === null ? '-' : `${shortDuration(s.generatedAt - w.seenAt)} ago`,
            String(w.leases),
            String(w.expiredLeases),
            w.nextExpiryAt === null ? '-' : expiry(w.nextExpiryAt - s.generatedAt),
          ]),
        ),
      ),
    );
  lines.push('', ...costLines(s.cost));
  return lines;
}

const expiry = (inMs: number): string =>
  inMs < 0 ? `${shortDuration(-inMs)} ago` : `in ${shortDuration(inMs)}`;

function costLines(cost: FleetSnapshot['cost']): string[] {
  if (!cost) return ['cost      (billing not set up)'];
  const burn = cost.burn.map((b) => `${b.lastMinute} ${b.currency}`).join(', ') || '0';
  const lines = [`cost      burn last minute ${burn}`];
  if (cost.budgets.length)
    lines.push(
      ...indent(
        table(
          ['BUDGET', 'SPENT', 'HELD', 'LIMIT', 'USED'],
          cost.budgets.map((b) => [
            `${b.period} ${b.scope}${b.subject ? ` ${b.subject}` : ''}${b.mode === 'soft' ? ' (soft)' : ''}`,
            b.spent,
            b.held,
            `${b.limit} ${b.currency}`,
            b.usedPct === null ? '-' : `${b.usedPct.toFixed(1)}%`,
          ]),
        ),
      ),
    );
  if (cost.omitted)
    lines.push(`  (${cost.omitted} more, run and tree budgets included: syscall billing.budgets.list)`);
  return lines;
}

/** One line per refresh where stdout is not a terminal. */
export function summaryLine(s: FleetSnapshot): string {
  const r = s.runs.byStatus;
  const burn = s.cost?.burn.map((b) => ` burn/min ${b.lastMinute} ${b.currency}`).join('') ?? '';
  return (
    `runs queued=${r.queued} running=${r.running} waiting=${r.waiting} completed=${r.completed} failed=${r.failed}` +
    ` rate=${rate(s.throughput.completedPerSec)} fail=${rate(s.throughput.failedPerSec)}` +
    ` agents=${s.agents.total} stalled=${s.attention.stalled} paused=${s.attention.budgetPaused}` +
    ` workers=${s.workers.live} leases=${s.workers.leases} expired=${s.workers.expiredLeases}${burn}` +
    (s.chaos?.enabled ? ' CHAOS' : '')
  );
}

const codeOf = (error: unknown): string => (isStrataError(error) ? error.code : String(error));

/**
 * Redraws (tty) or prints a line per refresh until `signal`: every `intervalMs`, and soon after a
 * run changes. The first snapshot's error is thrown; later ones leave the last table up, marked stale.
 */
export async function runFleetTop(
  remote: Remote,
  o: { tty: boolean; intervalMs: number },
  write: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  let pending = false;
  let wake: (() => void) | undefined;
  let events = 'events: on';
  const stream = streamRunChanges(
    remote,
    {},
    () => {
      pending = true;
      wake?.();
    },
    signal,
  ).catch((error: unknown) => void (events = `events: off (${codeOf(error)}), refreshing every interval`));
  const waitForNext = async (): Promise<void> => {
    const started = Date.now();
    await sleep(MIN_GAP_MS, undefined, { signal }).catch(() => undefined);
    if (pending || signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        wake = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, o.intervalMs - (Date.now() - started)));
      wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  };

  let last: FleetSnapshot | undefined;
  if (o.tty) write(`${HIDE_CURSOR}\x1b[2J`);
  try {
    while (!signal.aborted) {
      pending = false;
      let note = '';
      try {
        last = await remote.call<FleetSnapshot>('fleet.snapshot', {});
      } catch (error) {
        if (!last) throw error;
        note = `  STALE: ${codeOf(error)}`;
      }
      if (o.tty) {
        const head = `strata fleet top  ${remote.url}  ${timeOf(last.generatedAt, true)}  every ${o.intervalMs / 1000}s  ${events}${note}  (Ctrl-C quits)`;
        write(
          `${HOME}${[head, '', ...renderSnapshot(last)].map((l) => `${l}${CLEAR_LINE_END}`).join('\n')}\n${CLEAR_BELOW}`,
        );
      } else {
        write(`${timeOf(Date.now(), false)}  ${summaryLine(last)}${note}\n`);
      }
      await waitForNext();
    }
  } finally {
    if (o.tty) write(SHOW_CURSOR);
    await stream;
  }
}

/** Adds `top` under the `fleet` group (whose --url/--key it inherits). */
export function registerFleetTop(fleet: Command): void {
  fleet
    .command('top')
    .description('live table of the fleet: runs, rates, agents, queues, workers and leases, cost (read-only)')
    .option('--once', 'print the table once and exit')
    .option('--interval <duration>', 'seconds between refreshes: 2s, 10s (default 2s)', parseTtl)
    .action(async (options: { once?: boolean; interval?: number }, command: Command) => {
      const opts = command.optsWithGlobals<{ url?: string; key?: string }>();
      const remote = remoteOf(opts, configOf(command));
      const out = outputOf(command);
      if (options.once || out.json) {
        const snapshot = await remote.call<FleetSnapshot>('fleet.snapshot', {});
        out.result(snapshot, () => renderSnapshot(snapshot).join('\n'));
        return;
      }
      const intervalMs = Math.max(1, options.interval ?? 2) * 1000;
      await untilInterrupted((signal) =>
        runFleetTop(
          remote,
          { tty: process.stdout.isTTY === true, intervalMs },
          (text) => process.stdout.write(text),
          signal,
        ),
      );
    });
}
