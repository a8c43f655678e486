/**
 * Schema of approvals (issue 12), in a migration layer of its own. `request_key` is the asking
 * syscall's idempotency key (`<runId>:<seq>`), so a request re-executed after a crash finds the
 * approval it created instead of making a second one.
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
];
