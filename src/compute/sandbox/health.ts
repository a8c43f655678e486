/**
 * @module compute/sandbox/health
 * The sandboxes' health reading (kernel/health.ts), from what the manager already sees happen; it
 * never runs `bwrap` to find out (a driver's own check runs when a sandbox is created):
 * - **unhealthy**: a driver's check failed at the last create (bubblewrap missing, or user
 *   namespaces off); a later passing check clears it;
 * - **degraded**: `startFailureThreshold` sandboxes failed to start (cgroup, egress proxy) or
 *   `oomThreshold` commands were killed for memory within `windowMs`: a host short of memory or
 *   cgroups misconfigured, more than one agent's bad luck;
 * - **healthy** otherwise.
 */
import {
  readingOf,
  RecentEvents,
  type Clock,
  type DriverHealth,
  type HealthFinding,
} from '../../kernel/index.ts';
import type { ExecResult } from './types.ts';

export interface SandboxHealthOptions {
  /** @default 300_000 (5 minutes) */
  readonly windowMs?: number;
  /** Failed starts within the window that make sandboxes degraded. @default 3 */
  readonly startFailureThreshold?: number;
  /** Commands killed for memory within the window that make sandboxes degraded. @default 5 */
  readonly oomThreshold?: number;
}

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

export class SandboxHealth {
  readonly #clock: Clock;
  readonly #starts: RecentEvents;
  readonly #ooms: RecentEvents;
  readonly #startThreshold: number;
  readonly #oomThreshold: number;
  readonly #unavailable = new Map<string, { since: number; message: string }>();
  #lastStartFailure = '';

  /** `clock`: the manager's. */
  constructor(clock: Clock, options: SandboxHealthOptions = {}) {
    const windowMs = options.windowMs ?? 300_000;
    this.#clock = clock;
    this.#starts = new RecentEvents(windowMs);
    this.#ooms = new RecentEvents(windowMs);
    this.#startThreshold = options.startFailureThreshold ?? 3;
    this.#oomThreshold = options.oomThreshold ?? 5;
  }

  /** Awaits a driver's check and remembers whether it passed. */
  async check(driver: string, check: Promise<void>): Promise<void> {
    try {
      await check;
      this.#unavailable.delete(driver);
    } catch (error) {
      const since = this.#unavailable.get(driver)?.since ?? this.#clock.now();
      this.#unavailable.set(driver, { since, message: firstLine(error).slice(0, 300) });
      throw error;
    }
  }

  startFailed(error: unknown): void {
    this.#starts.add(this.#clock.now());
    this.#lastStartFailure = firstLine(error).slice(0, 200);
  }

  /** An exec ended: a command killed for memory counts toward the OOM burst. */
  finished(result: ExecResult): void {
    if (result.exceeded.includes('memory')) this.#ooms.add(this.#clock.now());
  }

  reading(): DriverHealth {
    const now = this.#clock.now();
    const findings: HealthFinding[] = [];
    for (const [driver, down] of this.#unavailable)
      findings.push({
        status: 'unhealthy',
        reason: `driver ${driver} unavailable: ${down.message}`,
        since: down.since,
      });
    const minutes = `${Math.round(this.#starts.windowMs / 60_000)} min`;
    const starts = this.#starts.within(now);
    if (starts.count >= this.#startThreshold)
      findings.push({
        status: 'degraded',
        reason: `${starts.count} sandboxes failed to start in the last ${minutes} (last: ${this.#lastStartFailure})`,
        since: starts.first ?? now,
      });
    const ooms = this.#ooms.within(now);
    if (ooms.count >= this.#oomThreshold)
      findings.push({
        status: 'degraded',
        reason: `${ooms.count} commands killed for memory (OOM) in the last ${minutes}`,
        since: ooms.first ?? now,
      });
    return readingOf(
      { id: 'sandbox.drivers', layer: 'compute', name: 'sandboxes' },
      findings,
      'no failed starts or OOM bursts',
    );
  }
}
