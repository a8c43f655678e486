/**
 * The faults the kernel's seeded chaos injector (src/kernel/chaos) puts into the demo: 3 % of the
 * attempts of every layer's syscalls fail with that layer's transient error (the models layer's as
 * a provider HTTP 500, realised by the scripted provider, so the model route's fallback meets it),
 * and the model provider `demo` is down for 5 s from a seeded moment after the fleet's first model
 * call (unreachable in its driver: with mechanisms on, the `triage` route falls back to `backup`).
 * The same seed gives the same draws in both passes; the injector marks every fault in the call's
 * audit entry.
 */
import type { ChaosConfigInput } from '../../src/kernel/index.ts';
import { draw } from './faults.ts';

export const ERROR_RATE = 0.03;
export const OUTAGE_MS = 5000;
const LAYERS = ['compute', 'identity', 'memory', 'tools', 'provisioning'] as const;

/**
 * When the model outage starts after the first model call in each process: within 0.1 s (seeded),
 * so it catches the fleet's first burst of model calls. The fleet's model traffic is bursty (at 8
 * agents: a burst in the first half second, a few calls at about 1.2 s, then none until about 9 s),
 * so a window timed from chaos being enabled, as it was, could fall in a gap and miss every call on
 * a loaded machine.
 */
export function outageStartMs(seed: number): number {
  return Math.floor(draw(seed, 'outage') * 100);
}

export function chaosConfig(seed: number): ChaosConfigInput {
  return {
    enabled: true,
    seed,
    rules: [
      { layer: 'models', errorRate: ERROR_RATE, fault: 'http_500' },
      ...LAYERS.map((layer) => ({ layer, errorRate: ERROR_RATE })),
      // The agents' orchestration calls only: the operator's polling would make the counts depend on timing.
      { layer: 'orchestration', syscall: 'fleet.task.*', errorRate: ERROR_RATE },
    ],
    outages: [
      {
        layer: 'models',
        provider: 'demo',
        startAfterMs: outageStartMs(seed),
        from: 'first-call',
        durationMs: OUTAGE_MS,
      },
    ],
  };
}
