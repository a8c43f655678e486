/**
 * @module web/needs-you-list
 * What the needs-you view lists and its nav badge counts, from one function so the two always agree:
 * the fleet's problems (`fleet.problems`) and the drivers that are not healthy — MCP servers that
 * stopped answering (`tools.servers`) and model buckets a provider's Retry-After has paused
 * (`model.capacity`). A driver read the session may not make is left out, not an error.
 */
import type { Kernel } from '../kernel/index.ts';
import type { Problems } from '../orchestration/problems/types.ts';
import { callAs, type DashboardContext } from './render.ts';

export interface DriverItem {
  readonly driver: string;
  readonly reason: string;
}

export interface NeedsYou {
  readonly problems: Problems;
  readonly drivers: readonly DriverItem[];
  readonly count: number;
}

type Server = { name: string; health: string; lastError?: string; restarts: number };
type Bucket = { provider: string; model: string; pausedUntil: string | null; queued: number };

async function unhealthyDrivers(c: DashboardContext, kernel: Kernel): Promise<DriverItem[]> {
  const [servers, buckets] = await Promise.all([
    kernel.registry.has('tools.servers')
      ? callAs<{ servers: Server[] }>(c, kernel, 'tools.servers', {}).catch(() => ({ servers: [] }))
      : { servers: [] },
    kernel.registry.has('model.capacity')
      ? callAs<{ buckets: Bucket[] }>(c, kernel, 'model.capacity', {}).catch(() => ({ buckets: [] }))
      : { buckets: [] },
  ]);
  const now = Date.now();
  return [
    ...servers.servers
      .filter((s) => s.health === 'unhealthy')
      .map((s) => ({
        driver: `MCP server ${s.name}`,
        reason: `not answering${s.lastError ? `: ${s.lastError}` : ''} (restarts ${s.restarts})`,
      })),
    ...buckets.buckets
      .filter((b) => b.pausedUntil !== null && Date.parse(b.pausedUntil) > now)
      .map((b) => ({
        driver: `model ${b.provider}/${b.model}`,
        reason: `paused by the provider's Retry-After until ${b.pausedUntil ?? ''}; ${b.queued} calls waiting`,
      })),
  ];
}

export async function needsYou(c: DashboardContext, kernel: Kernel, limit = 200): Promise<NeedsYou> {
  const [problems, drivers] = await Promise.all([
    callAs<Problems>(c, kernel, 'fleet.problems', { limit }),
    unhealthyDrivers(c, kernel),
  ]);
  return { problems, drivers, count: problems.count + drivers.length };
}
