/**
 * @module compute/browser/slot-waiters
 * Callers waiting for a free browser-session slot (`browser.open` with `waitMs`). Every freed slot
 * wakes all of them and they look again in the order they came, so the first in line takes it and
 * the others wait on in their order; nothing is handed over, so a slot is never counted twice.
 */
import { StrataError } from '../../kernel/index.ts';

export class SlotWaiters {
  readonly #waiters = new Set<() => void>();

  /**
   * Resolves once `free()` holds, waiting up to `waitMs`; then rejects with `refused()`. Between
   * `free()` turning true and the caller's next synchronous step nothing else runs, so the slot it
   * found is the caller's to take.
   */
  async wait(
    waitMs: number,
    free: () => boolean,
    on: { refused: () => Error; closing: () => boolean },
  ): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (!free()) {
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
