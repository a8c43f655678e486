/**
 * @module strata/provisioning
 * Resources on demand and the money around them. The provisioner (`provision.*`): PostgreSQL
 * databases, SQLite files, persistent sandboxes and browser contexts behind one driver interface
 * and one state machine, metered, with idle suspension and a reaper. The billing core: money
 * (exact micro-units), a double-entry ledger with two-phase transfers, budgets and the kernel
 * pipeline's budget hook (admission by reservation), meter events with dedupe and aggregations,
 * and the `billing.*` syscalls.
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
export {
  ResourceManager,
  type AdmissionRequest,
  type CatalogEntry,
  type ProvisionAdmission,
  type ProvisionInput,
  type ResourceManagerOptions,
  type ResourceSecretStore,
} from './resources/manager.ts';
export { checkName, type Resource, type Transition } from './resources/records.ts';
export { ResourceSweeper, type SweepReport, type SweeperOptions } from './resources/sweeper.ts';
export { SealedSecretStore } from './resources/secrets.ts';
export { provisionSyscalls } from './resources/syscalls.ts';
export {
  RESOURCE_STATES,
  type Provisioned,
  type ResourceDriver,
  type ResourceMeters,
  type ResourceRef,
  type ResourceState,
} from './resources/types.ts';
export { PostgresResourceDriver, type PostgresResourceDriverOptions } from './resources/drivers/postgres.ts';
export { SqliteResourceDriver, type SqliteResourceDriverOptions } from './resources/drivers/sqlite.ts';
export { SandboxResourceDriver, type SandboxHost } from './resources/drivers/sandbox.ts';
export { BrowserResourceDriver, type BrowserHost } from './resources/drivers/browser.ts';
export {
  GLOBAL_PRICES,
  PRICE_DIGITS,
  PriceBook,
  normalizePrice,
  parseUnitAmount,
  type Price,
  type PriceBookOptions,
  type PriceDefinition,
  type PriceSegment,
  type PriceTier,
  type SetPriceInput,
  type TierMode,
} from './billing/prices.ts';
export {
  Rating,
  parsePeriod,
  periodAt,
  invoiceTransferId,
  walletAccountId,
  revenueAccountId,
  type BillingPeriod,
  type Invoice,
  type InvoiceLine,
  type LineSegment,
  type PostedLine,
  type PostResult,
  type RatingOptions,
  type UnpricedUsage,
  type UsageLine,
} from './billing/rating.ts';
export {
  billingReport,
  invoiceJson,
  reportJson,
  type BillingReport,
  type BillingReportExtras,
  type BillingReportJson,
  type HoldSummary,
  type InvoiceJson,
  type ResourceSummary,
  type SpendTokenSummary,
} from './billing/report.ts';
export { priceSyscalls, type PriceSyscallsOptions } from './billing/price-syscalls.ts';
export { oneUnitMicros, priceAdmission } from './resources/admission.ts';
export {
  SpendTokens,
  type SpendTokensOptions,
  type IssuedSpendToken,
  type SpendTokenInfo,
  type SpendReservation,
  type SpendTokenScope,
  type IssueSpendTokenInput,
  type NarrowSpendTokenInput,
  type ReserveInput,
  type Purchase,
} from './billing/spend-tokens.ts';
export { spendTokenSyscalls, spendTokenOut } from './billing/spend-token-syscalls.ts';
export { SPEND_TOKENS_LAYER } from './billing/spend-token-migrations.ts';
