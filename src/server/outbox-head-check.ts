/**
 * @module server/outbox-head-check
 * While at least one live stream is open, checks the kernel's event outbox every `everyMs` for
 * events another process committed (`kernel.events.checkHead`: one read of the highest seq), so a
 * stream hears of them within `everyMs`; this process's own commits wake the streams at once
 * (`kernel.events.watch`). With no stream open the timer is stopped.
 */
import type { Kernel } from '../kernel/index.ts';

export interface OutboxHeadCheck {
  /** Starts the timer if it is not running; the returned function lets go (idempotent). */
  hold(): () => void;
}

export function outboxHeadCheck(kernel: Kernel, everyMs: number): OutboxHeadCheck {
  let holders = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      await kernel.events.checkHead();
    } catch (error) {
      kernel.logger.warn({ err: error }, 'event outbox check failed');
    } finally {
      running = false;
    }
  };
  return {
    hold() {
      if (holders++ === 0) timer = setInterval(() => void tick(), everyMs).unref();
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        if (--holders === 0) clearInterval(timer);
      };
    },
  };
}
