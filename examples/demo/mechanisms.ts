/**
 * What "mechanisms on" and "off" mean for the demo's two passes on the same seed, as the knobs
 * Strata has for each (off measures the fleet as a plain script would fare under the same faults):
 *
 * - syscall retries: the kernel pipeline's attempts per syscall (`kernel.registry.capAttempts(1)`);
 * - model fallback: the `triage` route falls back from provider `demo` to `backup` (off: the agent
 *   calls `demo/triage` directly, one attempt);
 * - run retries: a failed agent run is retried by journal replay, its journaled calls not made again
 *   (`retry.attempts` of the workflow; off: 1);
 * - supervisor restarts: children `transient` under an intensity of one per agent (off:
 *   `temporary`, intensity 0: never restarted);
 * - lease takeover: a dead worker's runs are taken over when their lease expires (off: a lease
 *   longer than the pass, so they are never taken over and count as lost).
 */
import type { RetryOptions } from '../../src/orchestration/index.ts';

export interface Mechanisms {
  readonly on: boolean;
  /** Cap on the kernel pipeline's attempts per syscall; undefined keeps each syscall's own. */
  readonly syscallAttempts: number | undefined;
  /** The model name the agents call: a route with a fallback, or one provider's model. */
  readonly model: string;
  readonly routes: Record<string, string[]>;
  readonly runRetry: RetryOptions | undefined;
  readonly childRestart: 'transient' | 'temporary';
  /** Supervisor restarts allowed per period, per agent. */
  readonly intensityPerAgent: number;
  readonly leaseMs: number;
}

export const PRIMARY_MODEL = 'demo/triage';
export const BACKUP_MODEL = 'backup/triage';
/** Longer than any pass: with takeover off, a dead worker's runs stay leased to it. */
const NO_TAKEOVER_LEASE_MS = 30 * 60_000;

export function mechanisms(on: boolean, leaseMs: number): Mechanisms {
  if (!on)
    return {
      on,
      syscallAttempts: 1,
      model: PRIMARY_MODEL,
      routes: {},
      runRetry: undefined,
      childRestart: 'temporary',
      intensityPerAgent: 0,
      leaseMs: NO_TAKEOVER_LEASE_MS,
    };
  return {
    on,
    syscallAttempts: undefined,
    model: 'triage',
    routes: { triage: [PRIMARY_MODEL, BACKUP_MODEL] },
    // At least 0.5 + 1 + 2 + 2 + 2 s between attempts (equal jitter): outlasts a 5 s outage.
    runRetry: { attempts: 6, baseDelayMs: 1000, maxDelayMs: 4000 },
    childRestart: 'transient',
    intensityPerAgent: 1,
    leaseMs,
  };
}
