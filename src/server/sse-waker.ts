/**
 * @module server/sse-waker
 * The wake-up of an SSE route's read loop: `poke` (a new event in this process, the client going
 * away) ends the current `idle` at once, or makes the next one return immediately; otherwise `idle`
 * returns after the poll interval, for what other processes wrote.
 */
export interface SseWaker {
  poke(): void;
  /** Resolves on a poke (true) or after `pollMs` (false). */
  idle(pollMs: number): Promise<boolean>;
}

export function sseWaker(): SseWaker {
  let signalled = false;
  let wake: (() => void) | undefined;
  return {
    poke() {
      signalled = true;
      wake?.();
    },
    async idle(pollMs) {
      if (!signalled)
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, pollMs).unref();
        });
      const poked = signalled;
      wake = undefined;
      signalled = false;
      return poked;
    },
  };
}
