/**
 * @module mergequeue/window
 * Zuul's adaptive window for a dependent pipeline: how many changes may be under test at once.
 * It starts at 20, grows by one per merged change and halves on each confirmed failure, never
 * below its floor (3): a green streak buys more speculation, a red one cuts the checks that a
 * failure at the head would throw away.
 */
import type { WindowOptions } from './types.ts';

export const DEFAULT_WINDOW = {
  initial: 20,
  floor: 3,
  ceiling: 40,
} as const satisfies Required<WindowOptions>;

export class AdaptiveWindow {
  readonly #floor: number;
  readonly #ceiling: number;
  #value: number;

  constructor(options: WindowOptions = {}) {
    this.#floor = Math.max(1, options.floor ?? DEFAULT_WINDOW.floor);
    this.#ceiling = Math.max(this.#floor, options.ceiling ?? DEFAULT_WINDOW.ceiling);
    this.#value = clamp(options.initial ?? DEFAULT_WINDOW.initial, this.#floor, this.#ceiling);
  }

  get value(): number {
    return this.#value;
  }

  merged(count: number): void {
    this.#value = clamp(this.#value + count, this.#floor, this.#ceiling);
  }

  failed(): void {
    this.#value = clamp(Math.floor(this.#value / 2), this.#floor, this.#ceiling);
  }
}

const clamp = (value: number, low: number, high: number): number => Math.min(high, Math.max(low, value));
