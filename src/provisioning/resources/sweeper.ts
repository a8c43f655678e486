/**
 * @module provisioning/resources/sweeper
 * The provisioner's housekeeping, one `sweep()` at a time: suspends resources idle past their
 * policy (default 5 minutes; the next `use` resumes them), destroys those past their TTL, reaps
 * half-made ones (a `pending` row older than the pending timeout that no call here is working on:
 * its process died mid-provision), finishes teardowns a dead process left `destroying`, removes
 * driver objects whose resource the store holds as failed or destroyed, and meters the `ready`
 * time of long-lived resources so usage reaches the meters while they run, not only when they stop.
 *
 * Every action is a normal transition, so it is recorded, audited and metered like a request.
 */
import { silentLogger, type Logger } from '../../kernel/index.ts';
import type { ResourceManager } from './manager.ts';
import { toRef, type ResourceRow } from './records.ts';

export interface SweepReport {
  suspended: number;
  expired: number;
  reaped: number;
  tornDown: number;
  orphansRemoved: number;
}

export interface SweeperOptions {
  /** @default 120000 */
  readonly pendingTimeoutMs?: number;
  readonly logger?: Logger;
}

export class ResourceSweeper {
  readonly #manager: ResourceManager;
  readonly #pendingTimeoutMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<SweepReport> | undefined;

  constructor(manager: ResourceManager, options: SweeperOptions = {}) {
    this.#manager = manager;
    this.#pendingTimeoutMs = options.pendingTimeoutMs ?? 120_000;
    this.#logger = options.logger ?? silentLogger();
  }

  /** Sweeps every `intervalMs` (unref'd). Idempotent. */
  start(intervalMs = 15_000): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.#logger.error({ err: error }, 'resource sweep failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping?.catch(() => undefined);
  }

  /** One pass; concurrent callers share it. */
  sweep(): Promise<SweepReport> {
    this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #sweep(): Promise<SweepReport> {
    const report: SweepReport = { suspended: 0, expired: 0, reaped: 0, tornDown: 0, orphansRemoved: 0 };
    const now = this.#manager.clock.now();
    const live = await this.#manager.rowsIn(['ready', 'suspended']);
    for (const row of live) {
      const expiresAt = row.expires_at === null ? null : Number(row.expires_at);
      if (expiresAt !== null && expiresAt <= now) {
        await this.#try(row, 'expire', () => this.#manager.destroy(row.tenant_id, row.id, { wait: true }));
        report.expired++;
      } else if (row.state === 'ready' && Number(row.last_used_at) + Number(row.idle_ms) <= now) {
        await this.#try(row, 'suspend', () => this.#manager.suspend(row.tenant_id, row.id, 'idle'));
        report.suspended++;
      } else if (row.state === 'ready') await this.#try(row, 'meter', () => this.#manager.flushUsage(row));
    }
    for (const row of await this.#manager.rowsIn(['pending', 'destroying'])) {
      if (this.#manager.inFlight(row.id)) continue;
      if (row.state === 'destroying') {
        await this.#try(row, 'teardown', () => this.#manager.finishTeardown(row));
        report.tornDown++;
      } else if (Number(row.updated_at) + this.#pendingTimeoutMs <= now) {
        await this.#try(row, 'reap', () => this.#manager.reapPending(row));
        report.reaped++;
      }
    }
    report.orphansRemoved = await this.#removeOrphans();
    return report;
  }

  /**
   * Objects a driver still holds for resources this store knows as failed or destroyed. Ids the
   * store does not know at all are left alone: another Strata (another store) may share the server.
   */
  async #removeOrphans(): Promise<number> {
    const dead = new Map((await this.#manager.rowsIn(['failed', 'destroyed'])).map((r) => [r.id, r]));
    let removed = 0;
    for (const entry of this.#manager.catalog()) {
      const driver = this.#manager.driver(entry.kind);
      for (const id of await driver.listOwned()) {
        const row = dead.get(id);
        if (!row || row.kind !== entry.kind) continue;
        await driver.destroy(toRef(row));
        removed++;
      }
    }
    return removed;
  }

  async #try(row: ResourceRow, action: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.#logger.warn({ resourceId: row.id, action, err: error }, 'resource sweep action failed');
    }
  }
}
