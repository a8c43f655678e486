/**
 * Schema of approvals (issue 12), in a migration layer of its own. `request_key` is the asking
 * syscall's idempotency key (`<runId>:<seq>`), so a request re-executed after a crash finds the
 * approval it created instead of making a second one. Version 2 adds webhooks: the event outbox
 * (`orch_approval_events`, written in the transaction that changes the approval) and one delivery
 * row per (webhook, event), claimed with a lease like the mail layer's deliveries.
 */
import type { Migration } from '../../kernel/index.ts';

export const APPROVALS_LAYER = 'orchestration.approvals';

export const approvalMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'approvals',
    up: `
      CREATE TABLE orch_approvals (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        request_key TEXT NOT NULL,
        run_id TEXT NOT NULL,
        workflow TEXT NOT NULL,
        question TEXT NOT NULL,
        schema TEXT,
        approvers TEXT NOT NULL,
        mailbox TEXT,
        on_timeout TEXT NOT NULL,
        timeout_at BIGINT,
        status TEXT NOT NULL,
        decided_by TEXT,
        decided_via TEXT,
        reason TEXT,
        value TEXT,
        signature TEXT,
        signed_with TEXT,
        escalated_at BIGINT,
        created_at BIGINT NOT NULL,
        decided_at BIGINT,
        UNIQUE (tenant_id, request_key)
      );
      CREATE INDEX orch_approvals_tenant ON orch_approvals (tenant_id, status, created_at);`,
  },
  {
    version: 2,
    name: 'approval webhooks, event outbox and deliveries',
    up: `
      CREATE TABLE orch_approval_webhooks (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        url TEXT NOT NULL,
        secret_sealed TEXT NOT NULL,
        events TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX orch_approval_webhooks_tenant ON orch_approval_webhooks (tenant_id);
      CREATE TABLE orch_approval_events (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        type TEXT NOT NULL,
        approval_id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE orch_approval_deliveries (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        webhook_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_at BIGINT NOT NULL,
        lease_until BIGINT,
        last_status INTEGER,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        finished_at BIGINT,
        UNIQUE (webhook_id, event_id)
      );
      CREATE INDEX orch_approval_deliveries_due ON orch_approval_deliveries (status, next_at);`,
  },
];
