/**
 * Schema of agent identities: one row per agent (its current did:key and the links its identity
 * document publishes) and every key it ever had. Private keys are sealed with the master key, bound
 * to their kid; retired keys keep their public half so signatures made before a rotation still verify.
 */
import type { Migration } from '../../kernel/index.ts';

export const AGENTS_LAYER = 'identity_agents';

export const agentMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'agent identities and keys',
    up: `
      CREATE TABLE identity_agents (
        tenant_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        links TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, agent_id)
      );
      CREATE TABLE identity_agent_keys (
        kid TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        did TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        private_sealed TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        retired_at BIGINT
      );
      CREATE INDEX identity_agent_keys_agent ON identity_agent_keys (tenant_id, agent_id, created_at);
      CREATE UNIQUE INDEX identity_agent_keys_active ON identity_agent_keys (tenant_id, agent_id)
        WHERE retired_at IS NULL;
      CREATE INDEX identity_agent_keys_did ON identity_agent_keys (did)
    `,
  },
];
