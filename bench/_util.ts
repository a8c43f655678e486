// Small helpers shared by the benchmarks: percentiles and a fixed-width table.
import { fileURLToPath } from 'node:url';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function table(rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = (cells[0] ?? []).map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(Math.abs(n) >= 10 ? 1 : 2);
}

/**
 * Runs `write(n)` for n = 0 … events − 1 from `writers` concurrent writers, each taking the next n and
 * keeping to `rate / writers` writes a second. A writer waits for its next turn on a schedule
 * instead of sleeping a fixed time after each write: on a loaded machine the writes' own time and
 * the timers' lateness would slow the pass below its rate, and stretch it. Writers that start
 * together still write in bursts, one write each per turn.
 */
export async function pacedWrites(
  pace: { writers: number; events: number; rate: number },
  write: (n: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const start = performance.now();
  const writer = async (): Promise<void> => {
    for (let turn = 1; next < pace.events; turn++) {
      await write(next++);
      const wait = start + (turn * 1000 * pace.writers) / pace.rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
  await Promise.all(Array.from({ length: pace.writers }, writer));
}

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/**
 * True when the module at `moduleUrl` is the benchmark being run (bench/run.ts points argv[1] at
 * it), false when another benchmark imports it for its measurements.
 */
export const isMain = (moduleUrl: string): boolean => process.argv[1] === fileURLToPath(moduleUrl);
