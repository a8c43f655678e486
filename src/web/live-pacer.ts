/**
 * @module web/live-pacer
 * When a live page's view (or its badge) is rendered again after events touched it: on the next
 * multiple of the interval since the epoch, a grid shared by every stream of the process. A burst
 * is one render (the stream has already waited for the rest of it before it read the events,
 * live-view.ts), a busy view renders at most once per interval, and the pages open on one view
 * render at the same moment and share the render (fragment-cache.ts), however many they are and
 * whenever they were opened. The interval counts from the grid point the last render was for, not
 * from when it finished, so no page drifts onto a point of its own: when they drifted (a 125 ms
 * tick and 250 ms from the render's end), ten pages on a busy view made six or seven renders a
 * second between them instead of four.
 */
export class LivePacer {
  readonly #intervalMs: number;
  /** When the first event not yet shown was read; undefined when everything read is shown. */
  #dirtySince: number | undefined;
  /** The grid point the last render was for. */
  #lastPoint = -Infinity;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Whether an event not yet shown waits for a render. */
  get pending(): boolean {
    return this.#dirtySince !== undefined;
  }

  /** An event the next render must show was read at `now`. */
  mark(now: number): void {
    this.#dirtySince ??= now;
  }

  /** When the next render is due (ms since the epoch, on the grid); Infinity when nothing waits. */
  dueAt(): number {
    if (this.#dirtySince === undefined) return Infinity;
    const earliest = Math.max(this.#dirtySince, this.#lastPoint + this.#intervalMs);
    return Math.ceil(earliest / this.#intervalMs) * this.#intervalMs;
  }

  /** A render showing every event marked so far was made at `now`, for the grid point at or before it. */
  rendered(now: number): void {
    this.#dirtySince = undefined;
    this.#lastPoint = Math.floor(now / this.#intervalMs) * this.#intervalMs;
  }
}
