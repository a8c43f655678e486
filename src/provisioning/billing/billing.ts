/**
 * @module provisioning/billing/billing
 * The billing core in one object: the ledger, budgets (and the kernel budget hook), meters (and a
 * kernel meter hook), and the hold reaper. Opened on the same store as the kernel, before it, so
 * the hooks can be handed to `Kernel.open({ budget, meter })`.
 *
 * @example
 * const billing = await Billing.open({ store });
 * const kernel = await Kernel.open({ store, masterKey, budget: billing.budgetHook,
 *   meter: composeMeters(engine.meterHook, billing.meterHook) });
 * billing.startReaper();
 */
import { systemClock, type Clock } from '../../kernel/clock.ts';
import { silentLogger, type Logger } from '../../kernel/logger.ts';
import type { BudgetHook, MeterHook, MeterRecord } from '../../kernel/syscalls/hooks.ts';
import type { Store } from '../../kernel/index.ts';
import { Budgets } from './budgets.ts';
import { Ledger } from './ledger.ts';
import { Meters } from './meter.ts';
import { BILLING_LAYER, billingMigrations } from './migrations.ts';
import { currencyExponent } from './money.ts';

export interface BillingOptions {
  readonly store: Store;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Currency of the kernel's cost estimates. @default 'USD' */
  readonly currency?: string;
  /** Lifetime of a budget hold before it expires. @default 600000 */
  readonly holdTimeoutMs?: number;
}

export class Billing {
  readonly ledger: Ledger;
  readonly budgets: Budgets;
  readonly meters: Meters;
  readonly currency: string;
  readonly budgetHook: BudgetHook;
  readonly meterHook: MeterHook;
  readonly #logger: Logger;
  #reaper: NodeJS.Timeout | undefined;
  #reaping: Promise<unknown> | undefined;

  private constructor(options: BillingOptions) {
    const clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger();
    this.currency = options.currency ?? 'USD';
    currencyExponent(this.currency);
    this.ledger = new Ledger({ store: options.store, clock });
    this.budgets = new Budgets({
      store: options.store,
      ledger: this.ledger,
      logger: this.#logger,
      currency: this.currency,
      holdTimeoutMs: options.holdTimeoutMs,
    });
    this.meters = new Meters({ store: options.store, clock });
    this.budgetHook = this.budgets.hook();
    this.meterHook = this.meters.hook({ currency: this.currency, logger: this.#logger });
  }

  /** Migrates the billing schema and returns the layer. */
  static async open(options: BillingOptions): Promise<Billing> {
    await options.store.migrate(BILLING_LAYER, billingMigrations);
    return new Billing(options);
  }

  /**
   * Voids expired holds every `intervalMs` (unref'd timer), then runs `also` (e.g. bringing spend
   * tokens' counters in line with holds that expired). Idempotent.
   */
  startReaper(intervalMs = 5000, also?: () => Promise<unknown>): void {
    if (this.#reaper) return;
    this.#reaper = setInterval(() => {
      this.#reaping ??= this.ledger
        .expireDue()
        .then(() => also?.())
        .catch((error: unknown) => this.#logger.error({ err: error }, 'hold reaper failed'))
        .finally(() => (this.#reaping = undefined));
    }, intervalMs);
    this.#reaper.unref();
  }

  /** Stops the reaper and waits for a sweep in progress. */
  async close(): Promise<void> {
    clearInterval(this.#reaper);
    this.#reaper = undefined;
    await this.#reaping;
  }
}

/** One meter hook that calls each in turn (e.g. the engine's run-cost hook, then billing's). */
export function composeMeters(...hooks: readonly MeterHook[]): MeterHook {
  return {
    record: async (record: MeterRecord) => {
      for (const hook of hooks) await hook.record(record);
    },
  };
}
