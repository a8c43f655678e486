/**
 * @module orchestration/fleet-snapshot/syscall
 * `fleet.snapshot`: the caller's tenant's fleet right now (see snapshot.ts), what `strata fleet top`
 * and the dashboard's Fleet view redraw. Read-only and tenant-scoped like `fleet.report`, on
 * resource `runs`; no input, so a refresh every 2 s costs the same every time.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { Engine } from '../engine.ts';
import { fleetSnapshot } from './snapshot.ts';
import { fleetSnapshotSchema } from './types.ts';

export function fleetSnapshotSyscall(engine: Engine): SyscallDefinition<unknown, unknown> {
  return erase(
    defineSyscall({
      name: 'fleet.snapshot',
      description:
        'The tenant’s fleet now: runs by status, completions and failures per second over the last minute, live agents by state, stalled and budget-paused runs, queue depths per workflow, workers with their leases and takeovers, cost burn against budgets.',
      input: z.object({}).strict(),
      output: fleetSnapshotSchema,
      idempotency: 'pure',
      resource: () => 'runs',
      handler: (_input, ctx) => fleetSnapshot(engine.store, ctx.tenantId, { now: ctx.clock.now() }),
    }),
  );
}
