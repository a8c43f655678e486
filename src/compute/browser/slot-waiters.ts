/**
 * @module compute/browser/slot-waiters
 * Callers waiting for a free browser-session slot (`browser.open` with `waitMs`). Every freed slot
 * wakes all of them and they look again in the order they came, so the first in line takes it and
 * the others wait on in their order; nothing is handed over, so a slot is never counted twice.
 *
 * Why the caller's `take` both checks and reserves: a waiter that only saw a free slot and
 * returned would reserve it a microtask later (an async function's return resolves its caller on
 * a later turn), and the next waiter woken by the same wake would see the slot still free and take
 * it too: two sessions in one slot.
 */
import { StrataError } from '../../kernel/index.ts';

export class SlotWaiters {
  readonly #waiters = new Set<() => void>();

  /**
   * Resolves once `take()` returns true, waiting up to `waitMs`; then rejects with `refused()`.
   * `take` must reserve the slot in the same synchronous step as it finds it free.
   */
  async take(
    waitMs: number,
    take: () => boolean,
    on: { refused: () => Error; closing: () => boolean },
  ): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (!take()) {
      const left = deadline - Date.now();
      if (left <= 0) throw on.refused();
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
      if (on.closing()) throw new StrataError('E_SHUTTING_DOWN', 'browser sessions are shutting down');
    }
  }

  /** A slot freed (or the sessions are closing): every waiter looks again. */
  wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
