/**
 * @module compute/browser/testing
 * Test and benchmark support (not exported from the index): the Chromium processes this process
 * started, found through /proc, so a test can assert that closing leaves none behind: its
 * descendants, and Chromium processes orphaned (re-parented to init) since this module loaded.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of Chromium processes that were orphans already when this module loaded (not ours). */
const ORPHANS_BEFORE = new Set(orphans());

function orphans(): number[] {
  return scan()
    .filter((p) => p.ppid === 1 && /chrom/i.test(p.name))
    .map((p) => p.pid);
}

function scan(): { pid: number; ppid: number; name: string }[] {
  const found: { pid: number; ppid: number; name: string }[] = [];
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

/**
 * Chromium processes this process is responsible for: descendants of `root` (default: this
 * process) and Chromium orphans that appeared since this module loaded.
 */
export function chromiumDescendants(root: number = process.pid): number[] {
  const leaked = orphans().filter((pid) => !ORPHANS_BEFORE.has(pid));
  const processes = scan();
  const parent = new Map(processes.map((p) => [p.pid, p.ppid]));
  const name = new Map(processes.map((p) => [p.pid, p.name]));
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
  const owned = [...parent.keys()].filter((pid) => /chrom/i.test(name.get(pid) ?? '') && isDescendant(pid));
  return [...owned, ...leaked];
}

/** Waits until no Chromium descendant is left (processes exit shortly after close); returns what is left. */
export async function waitForNoChromium(timeoutMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = chromiumDescendants();
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
