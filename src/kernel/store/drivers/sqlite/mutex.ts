/**
 * @module kernel/store/drivers/sqlite/mutex
 * A FIFO async mutex with a synchronous fast path. better-sqlite3 has one connection and runs
 * synchronously, but `transaction(fn)` awaits between statements; while it is open, other callers
 * must wait their turn or their statements would land inside someone else's transaction.
 * `held` lets callers skip the lock entirely (no promise, no tick) when nobody holds it.
 */
export class Mutex {
  #held = false;
  readonly #waiters: (() => void)[] = [];

  get held(): boolean {
    return this.#held;
  }

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Hands the lock straight to the next waiter, so a newcomer on the fast path cannot jump the queue. */
  release(): void {
    const next = this.#waiters.shift();
    if (next === undefined) this.#held = false;
    else next();
  }
}
