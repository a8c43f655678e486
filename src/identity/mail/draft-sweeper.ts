/**
 * The in-process timer sending scheduled drafts when due. Every process running it may sweep the
 * same table: each due draft is claimed with a conditional UPDATE before it is sent, so on
 * PostgreSQL several processes share the work and none sends a draft another has claimed. The
 * timer is unref'd (it never keeps a process alive) and one sweep runs at a time.
 */
import type { Drafts } from './drafts.ts';

export interface DraftSweeperOptions {
  /** @default 1000 */
  readonly intervalMs?: number;
  /** Told when a sweep itself fails (a store hiccup); a failed send is recorded on its draft. */
  readonly onError?: (error: unknown) => void;
}

export interface DraftSweeper {
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

export function startDraftSweeper(drafts: Drafts, options: DraftSweeperOptions = {}): DraftSweeper {
  let running: Promise<void> | undefined;
  const tick = (): void => {
    if (running) return;
    running = drafts
      .sweep()
      .then(
        () => undefined,
        (error: unknown) => options.onError?.(error),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, options.intervalMs ?? 1000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
