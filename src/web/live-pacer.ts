/**
 * @module web/live-pacer
 * When a live page's view (or its badge) is rendered again after events touched it: `COALESCE_MS`
 * after the first such event, so a burst is one render; at most once per `minIntervalMs`, so a busy
 * fleet costs a bounded rate; and on a clock tick (a multiple of `TICK_MS`) shared by every stream
 * of the process, so the pages open on one view render at the same moment and share the render
 * (fragment-cache.ts).
 */
export const COALESCE_MS = 50;
export const TICK_MS = 125;

export class LivePacer {
  readonly #minIntervalMs: number;
  /** When the first event not yet shown arrived; undefined when everything seen is shown. */
  #dirtySince: number | undefined;
  #last = -Infinity;

  constructor(minIntervalMs: number) {
    this.#minIntervalMs = minIntervalMs;
  }

  /** An event the next render must show arrived at `now`. */
  mark(now: number): void {
    this.#dirtySince ??= now;
  }

  /** When the next render is due (ms since the epoch); Infinity when nothing waits. */
  dueAt(): number {
    if (this.#dirtySince === undefined) return Infinity;
    const earliest = Math.max(this.#dirtySince + COALESCE_MS, this.#last + this.#minIntervalMs);
    return Math.ceil(earliest / TICK_MS) * TICK_MS;
  }

  /** A render that shows every event marked so far was made at `now`. */
  rendered(now: number): void {
    this.#dirtySince = undefined;
    this.#last = now;
  }
}
