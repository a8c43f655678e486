/**
 * @module mergequeue/bisection
 * Finding the culprit of a batch that failed twice on the same tree.
 *
 * Why this shape: the suspects are known to fail (a confirmed failure), so testing the first half
 * alone tells which half holds a culprit — a pass clears it (passes are trusted: a flake only ever
 * turns a pass into a fail), a failure is retried once and, confirmed, narrows the suspects to it
 * while the untested second half goes back to the queue. Each level costs at most two checks, so a
 * batch of B with one culprit costs at most 2⌈log₂B⌉ checks after its own retry. Probes run on the
 * main version the batch failed on, so the rest of the queue keeps moving meanwhile; the innocents
 * found are re-queued together at the front and re-verified as one batch on the current main
 * before main moves (one more check), never merged from a probe.
 */

export interface Probe {
  readonly check: string;
  readonly entries: readonly string[];
  /** Set once the probe failed and its retry was started. */
  retryCheck?: string;
}

export type BisectionStep =
  | { readonly kind: 'probe'; readonly entries: readonly string[] }
  | { readonly kind: 'retry'; readonly of: string }
  | {
      readonly kind: 'culprit';
      readonly entry: string;
      readonly check: string;
      readonly release: readonly string[];
    };

export class Bisection {
  readonly id: string;
  /** The main version the batch failed on; probes build on it. */
  readonly version: number;
  /** Known to fail together (confirmed). */
  suspects: string[];
  /** Passed without the culprit; re-verified later on the current main. */
  readonly cleared: string[] = [];
  /** Never tested apart from a culprit: re-queued with the cleared ones. */
  readonly untested: string[] = [];
  depth = 0;
  probe: Probe | undefined;
  /** The last check that failed with only suspects in it: the culprit's log. */
  lastFailure: string;

  constructor(options: { id: string; version: number; suspects: readonly string[]; failedCheck: string }) {
    this.id = options.id;
    this.version = options.version;
    this.suspects = [...options.suspects];
    this.lastFailure = options.failedCheck;
  }

  /** Every entry still held by this bisection. */
  members(): string[] {
    return [...this.suspects, ...this.cleared, ...this.untested];
  }

  /** What to do next when no probe is in flight. */
  next(): BisectionStep {
    if (this.suspects.length === 1) {
      return {
        kind: 'culprit',
        entry: this.suspects[0] as string,
        check: this.lastFailure,
        release: [...this.cleared, ...this.untested],
      };
    }
    const half = Math.ceil(this.suspects.length / 2);
    return { kind: 'probe', entries: this.suspects.slice(0, half) };
  }

  started(check: string, entries: readonly string[]): void {
    this.probe = { check, entries };
  }

  /** Records a probe result; returns `retry` when a first failure must be run again. */
  report(check: string, outcome: 'pass' | 'fail'): { retry: boolean; flake: boolean } {
    const probe = this.probe;
    if (!probe) return { retry: false, flake: false };
    const isRetry = probe.retryCheck === check;
    if (outcome === 'fail' && !isRetry) {
      return { retry: true, flake: false };
    }
    this.probe = undefined;
    this.depth += 1;
    const rest = this.suspects.slice(probe.entries.length);
    if (outcome === 'pass') {
      this.cleared.push(...probe.entries);
      this.suspects = rest;
      return { retry: false, flake: isRetry };
    }
    this.untested.push(...rest);
    this.suspects = [...probe.entries];
    this.lastFailure = check;
    return { retry: false, flake: false };
  }

  /** Takes an entry out (cancelled or conflicting); the bisection's knowledge no longer holds. */
  drop(entry: string): string[] {
    return this.members().filter((id) => id !== entry);
  }
}
