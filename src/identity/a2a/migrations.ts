/**
 * Schema of the A2A endpoints: tasks (the SDK's `Task` as JSON, with the columns ListTasks filters
 * and pages on) and push notification configs (the URL in clear, the caller's token or credentials
 * sealed with the master key). Both are scoped by agent, tenant and owner (the authenticated caller),
 * so one caller never sees another's tasks.
 */
import type { Migration } from '../../kernel/index.ts';

export const A2A_LAYER = 'a2a';

export const a2aMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'tasks and push configs',
    up: `
      CREATE TABLE a2a_tasks (
        agent TEXT NOT NULL,
        tenant TEXT NOT NULL,
        owner TEXT NOT NULL,
        id TEXT NOT NULL,
        context_id TEXT NOT NULL,
        state INTEGER NOT NULL,
        status_ts TEXT NOT NULL,
        body TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (agent, tenant, owner, id)
      );
      CREATE INDEX a2a_tasks_list ON a2a_tasks (agent, tenant, owner, status_ts, id);
      CREATE TABLE a2a_push_configs (
        agent TEXT NOT NULL,
        tenant TEXT NOT NULL,
        owner TEXT NOT NULL,
        task_id TEXT NOT NULL,
        id TEXT NOT NULL,
        url TEXT NOT NULL,
        secret_sealed TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (agent, tenant, owner, task_id, id)
      )
    `,
  },
];
