/**
 * Schema of the billing core: a double-entry ledger (accounts, insert-only transfers, the state of
 * pending transfers), budgets with one ledger account per budget period, fired alerts, meters and
 * meter events. Same logical schema on SQLite and PostgreSQL; amounts are BIGINT micro-units.
 *
 * The no-overdraft rule is also a CHECK constraint, so even a bug in the code could not make a
 * `no_overdraft` account's debits (posted plus pending) exceed its posted credits.
 */
import type { Migration } from '../../kernel/index.ts';

export const BILLING_LAYER = 'billing';

export const billingMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'ledger, budgets, meters',
    up: `
      CREATE TABLE bill_accounts (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        currency TEXT NOT NULL,
        flags TEXT NOT NULL,
        debits_pending BIGINT NOT NULL DEFAULT 0,
        debits_posted BIGINT NOT NULL DEFAULT 0,
        credits_pending BIGINT NOT NULL DEFAULT 0,
        credits_posted BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        CHECK (debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0),
        CHECK (flags <> 'no_overdraft' OR debits_posted + debits_pending <= credits_posted)
      );
      CREATE INDEX bill_accounts_tenant ON bill_accounts (tenant_id, kind);
      CREATE TABLE bill_transfers (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        debit_account_id TEXT NOT NULL,
        credit_account_id TEXT NOT NULL,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        pending_id TEXT,
        timeout_at BIGINT,
        reservation_id TEXT,
        memo TEXT,
        payload_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        CHECK (amount >= 0)
      );
      CREATE INDEX bill_transfers_debit ON bill_transfers (debit_account_id, created_at);
      CREATE INDEX bill_transfers_credit ON bill_transfers (credit_account_id, created_at);
      CREATE INDEX bill_transfers_tenant ON bill_transfers (tenant_id, created_at);
      CREATE TABLE bill_pending (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        debit_account_id TEXT NOT NULL,
        credit_account_id TEXT NOT NULL,
        amount BIGINT NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL,
        posted_amount BIGINT NOT NULL DEFAULT 0,
        timeout_at BIGINT,
        reservation_id TEXT,
        resolved_by TEXT,
        resolved_at BIGINT
      );
      CREATE INDEX bill_pending_open ON bill_pending (timeout_at) WHERE status = 'pending';
      CREATE INDEX bill_pending_debit ON bill_pending (debit_account_id) WHERE status = 'pending';
      CREATE INDEX bill_pending_reservation ON bill_pending (reservation_id);
      CREATE TABLE bill_budgets (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        subject TEXT NOT NULL,
        period TEXT NOT NULL,
        currency TEXT NOT NULL,
        limit_micros BIGINT NOT NULL,
        mode TEXT NOT NULL,
        thresholds TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (tenant_id, scope, subject, period, currency)
      );
      CREATE TABLE bill_budget_periods (
        budget_id TEXT NOT NULL,
        period_key TEXT NOT NULL,
        account_id TEXT NOT NULL,
        funded BIGINT NOT NULL,
        returned BIGINT NOT NULL DEFAULT 0,
        adjustments INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (budget_id, period_key)
      );
      CREATE TABLE bill_budget_alerts (
        budget_id TEXT NOT NULL,
        period_key TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        spent BIGINT NOT NULL,
        fired_at BIGINT NOT NULL,
        PRIMARY KEY (budget_id, period_key, threshold)
      );
      CREATE TABLE bill_meters (
        tenant_id TEXT NOT NULL,
        type TEXT NOT NULL,
        unit TEXT NOT NULL,
        aggregation TEXT NOT NULL,
        description TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, type)
      );
      CREATE TABLE bill_meter_events (
        tenant_id TEXT NOT NULL,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        subject TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        quantity TEXT NOT NULL,
        qty_micros BIGINT NOT NULL,
        unit TEXT NOT NULL,
        time BIGINT NOT NULL,
        payload_hash TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, id)
      );
      CREATE INDEX bill_meter_events_type ON bill_meter_events (tenant_id, type, time);`,
  },
  {
    version: 2,
    name: 'usage attribution',
    // Cost per task: who and what each syscall.cost event is for. Nullable: older events, and calls
    // made outside a durable run, keep nulls.
    up: `
      ALTER TABLE bill_meter_events ADD COLUMN syscall TEXT;
      ALTER TABLE bill_meter_events ADD COLUMN principal_id TEXT;
      ALTER TABLE bill_meter_events ADD COLUMN agent_id TEXT;
      ALTER TABLE bill_meter_events ADD COLUMN project TEXT;
      ALTER TABLE bill_meter_events ADD COLUMN root_id TEXT;
      ALTER TABLE bill_meter_events ADD COLUMN run_id TEXT;
      ALTER TABLE bill_meter_events ADD COLUMN step_seq INTEGER;
      ALTER TABLE bill_meter_events ADD COLUMN attempt INTEGER;
      ALTER TABLE bill_meter_events ADD COLUMN model TEXT;
      ALTER TABLE bill_meter_events ADD COLUMN tool TEXT;
      ALTER TABLE bill_meter_events ADD COLUMN price_version TEXT;
      CREATE INDEX bill_meter_events_root ON bill_meter_events (tenant_id, root_id);`,
  },
];
