/**
 * @module kernel/health
 * Driver health: what the drivers this process runs say about themselves (the browser pool, the SMTP
 * relay, sandboxes, MCP servers, model buckets), for the "needs you" list (`fleet.problems`), the
 * `fleet.drivers` syscall and the dashboard's layer pages.
 *
 * Glossary
 * - **Reading**: one driver's status (`healthy`, `degraded`: it works but worse or slower,
 *   `unhealthy`: calls to it fail), the reason in words an operator acts on, and since when.
 * - **Reader**: a function a layer registers on `kernel.health`; it builds its readings from state
 *   the layer already keeps (counters, timestamps, one indexed query at most). A reader never
 *   spawns a process or calls a remote to find out: reading health is paid by every dashboard
 *   render, and a dashboard that gathered state by spawning subprocesses caused process storms.
 * - **Scope**: readings are this process's (the pool and relay it uses); a reader that holds
 *   per-tenant state (MCP servers, a tenant's outbox) answers for the caller's tenant only.
 *
 * @example
 * kernel.health.register({ id: 'browser.pool', layer: 'compute' }, () => [browsers.health()]);
 * const readings = await kernel.health.read(tenantId);
 */
import { z } from 'zod';
import { coerceError } from './errors.ts';

export const HEALTH_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export const driverHealthSchema = z.object({
  /** Stable: `browser.pool`, `sandbox.bubblewrap`, `mail.relay`, `mcp.<server>`, `model.<provider>/<model>`. */
  id: z.string(),
  /** The layer whose page shows it: compute, identity, tools, models. */
  layer: z.string(),
  /** What an operator calls it: "browser pool", "MCP server mute". */
  name: z.string(),
  status: z.enum(HEALTH_STATUSES),
  reason: z.string(),
  /** When the current status began (ms since the epoch); null when not known. */
  since: z.number().nullable(),
});
export type DriverHealth = z.infer<typeof driverHealthSchema>;

export type DriverHealthReader = (
  tenantId: string,
) => readonly DriverHealth[] | Promise<readonly DriverHealth[]>;

interface Source {
  readonly id: string;
  readonly layer: string;
}

/** One thing wrong with a driver; a reading gathers its findings. */
export interface HealthFinding {
  readonly status: 'degraded' | 'unhealthy';
  readonly reason: string;
  readonly since: number;
}

/**
 * A driver's reading from its findings: the worst status, the reasons joined, the earliest since;
 * healthy (saying `healthyReason`) when there are none.
 */
export function readingOf(
  driver: Pick<DriverHealth, 'id' | 'layer' | 'name'>,
  findings: readonly HealthFinding[],
  healthyReason: string,
): DriverHealth {
  if (findings.length === 0) return { ...driver, status: 'healthy', reason: healthyReason, since: null };
  return {
    ...driver,
    status: findings.some((f) => f.status === 'unhealthy') ? 'unhealthy' : 'degraded',
    reason: findings.map((f) => f.reason).join('; '),
    since: Math.min(...findings.map((f) => f.since)),
  };
}

/** The readers of one kernel. */
export class DriverHealthBoard {
  readonly #readers = new Map<string, { source: Source; read: DriverHealthReader }>();

  /** Adds (or replaces) a source's reader; returns a function that removes it. */
  register(source: Source, read: DriverHealthReader): () => void {
    const entry = { source, read };
    this.#readers.set(source.id, entry);
    return () => {
      if (this.#readers.get(source.id) === entry) this.#readers.delete(source.id);
    };
  }

  /** Every reading for `tenantId`, by layer then id. A reader that throws reads as degraded. */
  async read(tenantId: string, now = Date.now()): Promise<DriverHealth[]> {
    const all = await Promise.all(
      [...this.#readers.values()].map(async ({ source, read }): Promise<readonly DriverHealth[]> => {
        try {
          return await read(tenantId);
        } catch (error) {
          return [
            {
              ...source,
              name: source.id,
              status: 'degraded',
              reason: `its health could not be read (${coerceError(error).code})`,
              since: now,
            },
          ];
        }
      }),
    );
    return all.flat().sort((a, b) => a.layer.localeCompare(b.layer) || a.id.localeCompare(b.id));
  }
}

/**
 * Times of recent occurrences (crashes, OOM kills, failures) within a sliding window, bounded in
 * memory: a burst of a million keeps the last `max`.
 */
export class RecentEvents {
  readonly #at: number[] = [];
  readonly windowMs: number;
  readonly #max: number;

  constructor(windowMs: number, max = 1000) {
    this.windowMs = windowMs;
    this.#max = max;
  }

  add(at: number): void {
    this.#at.push(at);
    if (this.#at.length > this.#max) this.#at.shift();
  }

  /** Occurrences in the window ending at `now`, and the first of them (null when none). */
  within(now: number): { count: number; first: number | null } {
    while (this.#at.length > 0 && (this.#at[0] as number) <= now - this.windowMs) this.#at.shift();
    return { count: this.#at.length, first: this.#at[0] ?? null };
  }
}
