/**
 * One periodic sweep for escalations: raise for dead-lettered runs, bump stale items, deliver
 * pending notifications. Every part is safe to run from several processes at once (conditional
 * updates), so each server runs its own sweeper.
 */
import type { Logger } from '../../kernel/index.ts';
import { raiseForDeadLetters } from './dead-letters.ts';
import type { Escalations } from './escalations.ts';

/** @default every 5 s */
export const ESCALATION_SWEEP_MS = 5_000;

export async function sweepEscalations(escalations: Escalations, logger?: Logger): Promise<void> {
  await raiseForDeadLetters(escalations.store, escalations.clock.now());
  await escalations.bumpStale();
  await escalations.deliverPending(logger);
}

export function startEscalationSweeper(
  escalations: Escalations,
  options: { intervalMs?: number; logger: Logger },
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const tick = (): void => {
    running = sweepEscalations(escalations, options.logger).catch((error: unknown) =>
      options.logger.warn({ err: error }, 'escalation sweep failed; retrying'),
    );
  };
  const timer = setInterval(tick, options.intervalMs ?? ESCALATION_SWEEP_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
