/**
 * @module mergequeue/batching
 * How many changes go into the next batch: adaptive within the queue's `{min, max}`, from the
 * culprit rate the queue has seen lately.
 *
 * The rule, and why: a batch of B changes costs one check, and when it holds a culprit (chance
 * about B·p at culprit rate p) the retry, the bisection and the re-verification cost about
 * 2·log₂B + 2 more. Per change that is f(B) = 1/B + p·(2·log₂B + 2); f'(B) = 0 at
 * B = ln 2 / (2p) ≈ 0.35 / p. So: batches of `max` while no culprit is seen, about 7 at 5 %, 2 at
 * 20 % and 1 (one at a time, which is then cheapest) from about 30 %. Simulated runs without
 * speculation agree (the best fixed B was 8–16 at 5 %, 4 at 10 %, 2 at 20 %, 1 at 35 % and 50 %).
 * Unlike halving per failure (Zuul's window), the size does not swing with each culprit: a queue
 * whose rate is steady keeps a steady, near-optimal batch.
 *
 * The rate is estimated over the last {@link RECENT} decided changes (merged: 0, named culprit: 1),
 * divided by at least {@link PRIOR} so the first culprit of a young queue does not read as a high
 * rate. Conflicts and cancellations say nothing about the tests, so they are not counted.
 */
import { StrataError } from '../kernel/errors.ts';
import type { BatchSize } from './types.ts';

/** Decided changes the culprit rate is estimated over. */
export const RECENT = 100;
/** The estimate's denominator is at least this many changes. */
export const PRIOR = 40;

export function batchSize(batch: Partial<BatchSize> | undefined): BatchSize {
  const min = batch?.min ?? 1;
  const max = batch?.max ?? 8;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new StrataError('E_INVALID_INPUT', `batch size must satisfy 1 <= min <= max (got ${min}, ${max})`, {
      min,
      max,
    });
  }
  return { min, max };
}

export class BatchSizer {
  readonly #bounds: BatchSize;
  readonly #adaptive: boolean;
  /** 1 for a named culprit, 0 for a merged change, newest last. */
  readonly #verdicts: number[] = [];
  #low: number;
  #high: number;

  constructor(bounds: BatchSize, adaptive: boolean) {
    this.#bounds = bounds;
    this.#adaptive = adaptive;
    this.#low = this.target;
    this.#high = this.target;
  }

  /** The estimated culprit rate. */
  get culpritRate(): number {
    const culprits = this.#verdicts.reduce((n, v) => n + v, 0);
    return culprits / Math.max(PRIOR, this.#verdicts.length);
  }

  /** The size of the next batch. */
  get target(): number {
    const { min, max } = this.#bounds;
    const p = this.culpritRate;
    if (!this.#adaptive || p === 0) return max;
    return Math.min(max, Math.max(min, Math.round(Math.LN2 / (2 * p))));
  }

  /**
   * Changes worth having under test at once. A speculative check of a slot with k changes ahead of
   * it is thrown away unless all k are clean (chance (1 − p)^k), so speculation pays only while
   * that is at least even: k ≤ ln 2 / −ln(1 − p) ≈ 0.69 / p. Without this cap, small batches at a
   * high rate would fill the window with many slots and throw most of them away per culprit.
   */
  get speculation(): number {
    const p = this.culpritRate;
    if (!this.#adaptive || p === 0) return Number.POSITIVE_INFINITY;
    return Math.max(1, Math.floor(Math.LN2 / -Math.log1p(-Math.min(p, 0.99))));
  }

  /** The smallest and largest targets used so far (the checks bound is stated with them). */
  get range(): { low: number; high: number } {
    return { low: this.#low, high: this.#high };
  }

  /** Restores decided changes, oldest first (true: a named culprit), e.g. when a queue restarts. */
  recall(verdicts: readonly boolean[]): void {
    for (const culprit of verdicts) this.#record(culprit ? 1 : 0, 1);
  }

  merged(count: number): void {
    this.#record(0, count);
  }

  culprit(): void {
    this.#record(1, 1);
  }

  #record(verdict: number, count: number): void {
    for (let i = 0; i < count; i++) this.#verdicts.push(verdict);
    this.#verdicts.splice(0, Math.max(0, this.#verdicts.length - RECENT));
    const target = this.target;
    this.#low = Math.min(this.#low, target);
    this.#high = Math.max(this.#high, target);
  }
}
