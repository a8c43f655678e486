/**
 * @module orchestration/problems/drivers
 * Drivers in the "needs you" list: each reading of `kernel.health` (kernel/health.ts) that is not
 * healthy becomes a `driver` item, its reason naming the driver. No syscall repairs a driver (an
 * operator does: installs Chromium, fixes the relay), so its action is the read that shows the
 * drivers of its layer, `fleet.drivers`, and the dashboard links the layer's page.
 *
 * Unlike the other kinds, read from this process's drivers, not from the store: the list a server
 * answers names the browser pool, relay and sandboxes that server uses.
 *
 * `fleet.drivers` lists every reading, healthy ones too, optionally of one layer.
 */
import { z } from 'zod';
import { driverHealthSchema, type DriverHealth } from '../../kernel/index.ts';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { Engine } from '../engine.ts';
import type { Problem } from './types.ts';

export function driverProblems(readings: readonly DriverHealth[], now: number): Problem[] {
  return readings.flatMap((h): Problem[] => {
    if (h.status === 'healthy') return [];
    const since = h.since ?? now;
    return [
      {
        kind: 'driver',
        id: h.id,
        reason: `${h.name}: ${h.reason}`,
        since,
        ageMs: Math.max(0, now - since),
        action: { syscall: 'fleet.drivers', input: { layer: h.layer } },
        driver: { layer: h.layer, status: h.status },
      },
    ];
  });
}

export function driversSyscall(engine: Engine): SyscallDefinition<unknown, unknown> {
  return erase(
    defineSyscall({
      name: 'fleet.drivers',
      description:
        'Health of the drivers this server runs — browser pool, sandboxes, SMTP relay and the tenant’s outbox, the tenant’s MCP servers, model buckets: status (healthy, degraded, unhealthy), reason and since when; optionally of one layer.',
      input: z.object({ layer: z.string().max(40).optional() }).strict(),
      output: z.object({ drivers: z.array(driverHealthSchema) }),
      idempotency: 'pure',
      resource: () => 'problems',
      handler: async (input, ctx) => {
        const all = await engine.kernel.health.read(ctx.tenantId, ctx.clock.now());
        return { drivers: input.layer === undefined ? all : all.filter((h) => h.layer === input.layer) };
      },
    }),
  );
}
