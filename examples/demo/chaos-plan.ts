/**
 * The faults the kernel's seeded chaos injector (src/kernel/chaos) puts into the demo: 3 % of the
 * attempts of every layer's syscalls fail with that layer's transient error (the models layer's as
 * a provider HTTP 500, realised by the scripted provider, so the model route's fallback meets it),
 * and the model provider `demo` is down for 5 s from a seeded moment (unreachable in its driver:
 * with mechanisms on, the `triage` route falls back to `backup`). The same seed gives the same
 * draws in both passes; the injector marks every fault in the call's audit entry.
 */
import type { ChaosConfigInput } from '../../src/kernel/index.ts';
import { draw } from './faults.ts';

export const ERROR_RATE = 0.03;
export const OUTAGE_MS = 5000;
const LAYERS = ['compute', 'identity', 'memory', 'tools', 'provisioning'] as const;

/**
 * When the model outage starts, after chaos is enabled: while the fleet is busy (8 agents are done
 * in a few seconds, 50 in about 15), so 0.3 s + 40 ms per agent, plus up to 1 s from the seed.
 */
export function outageStartMs(seed: number, agents: number): number {
  return 300 + agents * 40 + Math.floor(draw(seed, 'outage') * 1000);
}

export function chaosConfig(seed: number, agents: number): ChaosConfigInput {
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
      { layer: 'models', provider: 'demo', startAfterMs: outageStartMs(seed, agents), durationMs: OUTAGE_MS },
    ],
  };
}
