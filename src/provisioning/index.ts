/**
 * @module strata/provisioning
 * The billing core of the provisioning layer: money (exact micro-units), a double-entry ledger with
 * two-phase transfers, budgets and the kernel pipeline's budget hook (admission by reservation),
 * meter events with dedupe and aggregations, and the `billing.*` syscalls. The resource provisioner
 * (`provision.*`), price book and spend tokens of issue 9 are not built yet.
 */
export const LAYER = { name: 'provisioning', status: 'available', issue: 9 } as const;
export { Billing, composeMeters, type BillingOptions } from './billing/billing.ts';
export {
  Budgets,
  periodOf,
  type Budget,
  type BudgetMode,
  type BudgetPeriod,
  type BudgetScope,
  type BudgetStatus,
  type SetBudgetInput,
} from './billing/budgets.ts';
export {
  ACCOUNT_KINDS,
  available,
  creditBalance,
  Ledger,
  type Account,
  type AccountFlags,
  type AccountKind,
  type OpenAccountInput,
  type ResolveInput,
  type Transfer,
  type TransferInput,
  type TransferKind,
  type TrialBalanceLine,
} from './billing/ledger.ts';
export {
  AGGREGATIONS,
  Meters,
  type AggregateQuery,
  type AggregateResult,
  type Aggregation,
  type IngestResult,
  type MeterDefinition,
  type MeterEvent,
} from './billing/meter.ts';
export {
  addMoney,
  compareMoney,
  CURRENCIES,
  currencyExponent,
  formatMicros,
  formatMoney,
  money,
  parseMoney,
  parseQuantity,
  subtractMoney,
  type Money,
  type ParseMoneyOptions,
} from './billing/money.ts';
export { BILLING_LAYER, billingMigrations } from './billing/migrations.ts';
export { billingSyscalls } from './billing/syscalls.ts';
