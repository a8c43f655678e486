/** Schema of the agent directory: one row per known A2A agent per tenant, keyed by its card URL. */
import type { Migration } from '../../kernel/index.ts';

export const DIRECTORY_LAYER = 'agent_directory';

export const directoryMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'directory entries',
    up: `
      CREATE TABLE directory_entries (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        card_url TEXT NOT NULL,
        agent_url TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        skills TEXT NOT NULL,
        search_text TEXT NOT NULL,
        kid TEXT,
        possession INTEGER NOT NULL,
        added_at BIGINT NOT NULL,
        refreshed_at BIGINT NOT NULL,
        last_success_at BIGINT,
        last_failure_at BIGINT,
        last_error TEXT,
        calls BIGINT NOT NULL,
        failures BIGINT NOT NULL
      );
      CREATE UNIQUE INDEX directory_entries_card ON directory_entries (tenant, card_url)
    `,
  },
];
