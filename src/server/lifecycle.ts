/**
 * @module server/lifecycle
 * The HTTP surface's own view of shutdown: whether it is draining and how many requests are in
 * flight. The kernel counts in-flight *syscalls*; this counts whole *requests*, so graceful shutdown
 * also waits for responses still being built after their syscall returned (and for requests that
 * are authenticating or reading their body and have not reached the kernel yet).
 */

export class Lifecycle {
  #draining = false;
  #inFlight = 0;
  #waiters = new Set<() => void>();

  get draining(): boolean {
    return this.#draining;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Flips health to 503 and makes new API requests fail fast with E_SHUTTING_DOWN. */
  startDraining(): void {
    this.#draining = true;
  }

  enter(): void {
    this.#inFlight++;
  }

  leave(): void {
    if (--this.#inFlight > 0) return;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** Resolves with how many requests are still in flight when they all finished or `timeoutMs` passed. */
  async waitIdle(timeoutMs: number): Promise<number> {
    if (this.#inFlight === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      wake = resolve;
      this.#waiters.add(resolve);
      // Not unref'd: a deliberate wait must keep the process alive (it is cleared as soon as idle).
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    if (wake) this.#waiters.delete(wake);
    return this.#inFlight;
  }
}
