/**
 * @module compute/browser/testing
 * Test and benchmark support (not exported from the index): the Chromium processes this process is
 * responsible for, so a test can assert that closing leaves none behind. Chromium's helpers (the
 * crash handler, the zygote) may be re-parented to init, so besides this process's descendants,
 * every process carrying this process's tag in its environment counts: loading this module sets
 * `CHROMIUM_OWNER_TAG`, which Chromium (launched with the inherited environment) and anything it
 * spawns inherit — as do servers a test starts as child processes, and their Chromium.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TAG_NAME = 'CHROMIUM_OWNER_TAG';
process.env[TAG_NAME] ??= `test-${process.pid}`;
const TAG = `${TAG_NAME}=${process.env[TAG_NAME]}`;

type Proc = { pid: number; ppid: number; name: string };

function scan(): Proc[] {
  const found: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      found.push({
        pid: Number(entry),
        ppid: Number(fields[1]),
        name: stat.slice(stat.indexOf('(') + 1, close),
      });
    } catch {
      // the process exited while we looked
    }
  }
  return found;
}

function tagged(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(TAG);
  } catch {
    return false;
  }
}

/** Chromium processes (by name) that descend from this process or carry its tag. */
export function chromiumDescendants(root: number = process.pid): number[] {
  const processes = scan();
  const parent = new Map(processes.map((p) => [p.pid, p.ppid]));
  const isDescendant = (pid: number): boolean => {
    for (
      let p = parent.get(pid), hops = 0;
      p !== undefined && p > 1 && hops < 64;
      p = parent.get(p), hops++
    ) {
      if (p === root) return true;
    }
    return false;
  };
  return processes
    .filter((p) => /chrom/i.test(p.name) && p.pid !== process.pid && (isDescendant(p.pid) || tagged(p.pid)))
    .map((p) => p.pid);
}

/** Waits until no Chromium process of ours is left (they exit shortly after close); returns what is left. */
export async function waitForNoChromium(timeoutMs = 15_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = chromiumDescendants();
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `pid state command line` of each pid, for assertion messages. */
export function describeProcesses(pids: readonly number[]): string {
  return pids
    .map((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '?';
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 160);
        return `${pid} ${state} ${cmd}`;
      } catch {
        return `${pid} (gone)`;
      }
    })
    .join('\n');
}
