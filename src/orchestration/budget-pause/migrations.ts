/**
 * Schema of budget pauses (issue 12). One open pause per exhausted budget (the partial unique
 * index), however many runs hit it: they join it instead of each raising its own escalation and
 * approval, so 1,000 paused calls make one item for a person, not 1,000.
 */
import type { Migration } from '../../kernel/index.ts';

export const BUDGET_PAUSES_LAYER = 'orchestration.budget_pauses';

export const budgetPauseMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'budget pauses',
    up: `
      CREATE TABLE orch_budget_pauses (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        budget_id TEXT NOT NULL,
        budget TEXT NOT NULL,
        leader_run_id TEXT NOT NULL,
        root_id TEXT NOT NULL,
        syscall TEXT NOT NULL,
        proposed_limit TEXT NOT NULL,
        approval_id TEXT,
        status TEXT NOT NULL,
        new_limit TEXT,
        created_at BIGINT NOT NULL,
        resolved_at BIGINT
      );
      CREATE UNIQUE INDEX orch_budget_pauses_open ON orch_budget_pauses (tenant_id, budget_id) WHERE status = 'paused';
      CREATE INDEX orch_budget_pauses_tenant ON orch_budget_pauses (tenant_id, created_at);
      CREATE TABLE orch_budget_paused_runs (
        pause_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        joined_at BIGINT NOT NULL,
        PRIMARY KEY (pause_id, run_id)
      );`,
  },
];
