/**
 * @module kernel/chaos/testing
 * Test support for named faults (not exported from the index): an injector to hand a kernel, a way
 * to make every call of a syscall suffer one fault, and the fault marks its audit entry recorded.
 */
import { systemClock } from '../clock.ts';
import type { Kernel } from '../kernel.ts';
import { chaosSchema } from './config.ts';
import { draw } from './draw.ts';
import type { NamedFault } from './faults.ts';
import { ChaosInjector, type FaultMark } from './injector.ts';

/** An injector with chaos off, in development mode. */
export const testInjector = (): ChaosInjector =>
  new ChaosInjector({ config: chaosSchema.parse({}), mode: 'development', clock: systemClock });

/** Every call of `syscall` suffers `fault` from now on; `undefined` turns chaos off. */
export function faultEvery(chaos: ChaosInjector, syscall?: string, fault?: NamedFault): void {
  const rules = syscall === undefined ? [] : [{ syscall, errorRate: 1, fault }];
  chaos.set(chaosSchema.parse({ enabled: syscall !== undefined, rules }));
}

/**
 * The next call of `syscall` suffers `fault` on its first attempt only, so a retry — the
 * pipeline's (the call's attempt 2) or the caller's (the next call) — meets the healthy component:
 * a seed is chosen whose draws hit that attempt and miss both retries.
 */
export function faultFirstAttemptOnly(chaos: ChaosInjector, syscall: string, fault: NamedFault): void {
  const errorRate = 0.5;
  const hits = (seed: number, index: number, attempt: number): boolean =>
    draw({ seed, syscall, index, attempt, salt: 'rule:0' }) < errorRate;
  let seed = 0;
  while (!hits(seed, 0, 1) || hits(seed, 0, 2) || hits(seed, 1, 1)) seed++;
  chaos.set(chaosSchema.parse({ enabled: true, seed, rules: [{ syscall, errorRate, fault }] }));
}

/** The fault marks of the tenant's latest audit entry for `action`. */
export async function faultsOf(kernel: Kernel, tenantId: string, action: string): Promise<FaultMark[]> {
  await kernel.audit.flush();
  const entries = await kernel.audit.list(tenantId, { limit: 1000 });
  const entry = entries.filter((e) => e.action === action).at(-1);
  return (entry?.detail as { faults?: FaultMark[] } | undefined)?.faults ?? [];
}
