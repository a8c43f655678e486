/**
 * @module mergequeue/metering
 * Check time as billable usage: each finished check becomes meter events of the billing layer
 * (`mq.check_seconds`, unit `second`, summed), one per change in the check's tree, its equal share
 * of the sandbox time, billed to the change's author (the event's subject) with the change as the
 * resource (`mq/<queue>/<entry>`). So `billing.meters.aggregate` gives an author's or a change's
 * check seconds, and a price on `mq.check_seconds` in the price book rates them into the tenant's
 * invoice like any other usage.
 *
 * The same split as `mq_entries.check_ms` (equal shares): a batch check is paid for by every change
 * it carried, culprit or not. Event ids are `mq:<check>:<entry>`, so a check metered twice (a
 * worker that restarts after metering) is counted once.
 */
import type { Logger } from '../kernel/index.ts';
import type { MeterDefinition, MeterEvent, Meters } from '../provisioning/index.ts';

export const CHECK_SECONDS_METER: MeterDefinition = {
  type: 'mq.check_seconds',
  unit: 'second',
  aggregation: 'sum',
  description:
    'Sandbox time of merge queue checks, in equal shares per change of the checked tree, billed to its author.',
};

export interface FinishedCheck {
  readonly queue: string;
  readonly check: string;
  /** The changes of the check's tree, with their authors. */
  readonly entries: readonly { readonly id: string; readonly author: string }[];
  readonly durationMs: number;
  /** When the check ended (epoch ms). */
  readonly at: number;
}

/** The meter events of one finished check (none for an empty tree). */
export function checkUsage(check: FinishedCheck): MeterEvent[] {
  if (check.entries.length === 0) return [];
  const share = (Math.max(0, check.durationMs) / check.entries.length / 1000).toFixed(3);
  return check.entries.map((entry) => ({
    id: `mq:${check.check}:${entry.id}`,
    type: CHECK_SECONDS_METER.type,
    subject: entry.author,
    resourceId: `mq/${check.queue}/${entry.id}`,
    quantity: share,
    unit: CHECK_SECONDS_METER.unit,
    time: check.at,
  }));
}

/**
 * Meters checks for one tenant, defining the meter on first use. A failure is logged, not thrown:
 * a lost usage record must not stop the queue that moves main.
 */
export class CheckMetering {
  readonly #meters: Meters;
  readonly #logger: Logger;
  readonly #defined = new Set<string>();

  constructor(meters: Meters, logger: Logger) {
    this.#meters = meters;
    this.#logger = logger;
  }

  async record(tenantId: string, check: FinishedCheck): Promise<void> {
    try {
      if (!this.#defined.has(tenantId)) {
        await this.#meters.define(tenantId, CHECK_SECONDS_METER);
        this.#defined.add(tenantId);
      }
      await this.#meters.ingest(tenantId, checkUsage(check));
    } catch (error) {
      this.#logger.warn(
        { queue: check.queue, check: check.check, err: error },
        'merge queue check not metered',
      );
    }
  }
}
