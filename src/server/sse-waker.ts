/**
 * @module server/sse-waker
 * The wake-up of an SSE route's read loop: `poke` (a new event in this process) ends the current
 * `idle` at once, or makes the next one return immediately; otherwise `idle` returns after the poll
 * interval, for what other processes wrote. `stop` (the client went away) ends every idle from then
 * on at once.
 *
 * A loop that already knows it will do nothing before a set time (a live page whose render is
 * pending: new events change nothing before it is due, web/live-view.ts) idles `throughPokes`: a
 * poke is kept for the idle after, and only the time or `stop` ends this one. Ten dashboards on a
 * busy fleet otherwise wake and read the outbox several times per render for nothing.
 */
export interface SseWaker {
  poke(): void;
  /** `performance.now()` at the latest poke (0 before the first): a read started after it holds
   *  every event that poked so far (server/shared-feed.ts). */
  readonly pokedAt: number;
  /** The client went away: the current and every later idle return at once. */
  stop(): void;
  /**
   * Resolves after `pollMs`, or on a poke unless `throughPokes`, or on `stop`; true when poked
   * (during this idle or before it).
   */
  idle(pollMs: number, options?: { readonly throughPokes?: boolean }): Promise<boolean>;
}

export function sseWaker(): SseWaker {
  let signalled = false;
  let stopped = false;
  let wake: ((byPoke: boolean) => void) | undefined;
  let pokedAt = 0;
  return {
    get pokedAt() {
      return pokedAt;
    },
    poke() {
      pokedAt = performance.now();
      signalled = true;
      wake?.(true);
    },
    stop() {
      stopped = true;
      wake?.(false);
    },
    async idle(pollMs, options = {}) {
      const throughPokes = options.throughPokes === true;
      if (!stopped && (throughPokes || !signalled))
        await new Promise<void>((resolve) => {
          // Cleared when woken early: a busy stream would otherwise leave one pending timer per wake.
          const timer = setTimeout(resolve, pollMs);
          timer.unref();
          wake = (byPoke) => {
            if (byPoke && throughPokes) return;
            clearTimeout(timer);
            resolve();
          };
        });
      const poked = signalled;
      wake = undefined;
      signalled = false;
      return poked;
    },
  };
}
