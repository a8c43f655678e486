/**
 * @module orchestration/fleet-snapshot/syscall
 * `fleet.snapshot`: the caller's tenant's fleet right now (see snapshot.ts), what `strata fleet top`
 * and the dashboard's Fleet view redraw. Read-only and tenant-scoped like `fleet.report`, on
 * resource `runs`; no input, so a refresh every 2 s costs the same every time.
 *
 * Whether faults are being injected comes from `chaos.status`, called as the caller (so checked
 * against its own grants, and audited): `chaos` is left out where the caller may not read it or the
 * kernel has no fault injector.
 */
import { z } from 'zod';
import { isStrataError, type Principal } from '../../kernel/index.ts';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { Engine } from '../engine.ts';
import { fleetSnapshot } from './snapshot.ts';
import { fleetSnapshotSchema } from './types.ts';

const WITHOUT_CHAOS = new Set(['E_CAPABILITY_DENIED', 'E_UNKNOWN_SYSCALL']);

async function chaosEnabled(engine: Engine, principal: Principal): Promise<boolean | undefined> {
  try {
    return (await engine.kernel.call<{ enabled: boolean }>('chaos.status', {}, { principal })).enabled;
  } catch (error) {
    if (isStrataError(error) && WITHOUT_CHAOS.has(error.code)) return undefined;
    throw error;
  }
}

export function fleetSnapshotSyscall(engine: Engine): SyscallDefinition<unknown, unknown> {
  return erase(
    defineSyscall({
      name: 'fleet.snapshot',
      description:
        'The tenant’s fleet now: runs by status, completions and failures per second over the last minute, live agents by state, stalled and budget-paused runs, queue depths per workflow, workers with their leases and takeovers, cost burn against budgets, and whether faults are being injected.',
      input: z.object({}).strict(),
      output: fleetSnapshotSchema,
      idempotency: 'pure',
      resource: () => 'runs',
      handler: async (_input, ctx) => {
        const [snapshot, chaos] = await Promise.all([
          fleetSnapshot(engine.store, ctx.tenantId, { now: ctx.clock.now() }),
          chaosEnabled(engine, ctx.principal),
        ]);
        return chaos === undefined ? snapshot : { ...snapshot, chaos: { enabled: chaos } };
      },
    }),
  );
}
