/**
 * Schema of delegation state: revoked links (by link id, per tenant) and the nonces of invocations
 * already used. A nonce row lives until its invocation's `exp`; after that the invocation is refused
 * as expired anyway, so the row can go.
 */
import type { Migration } from '../../kernel/index.ts';

export const DELEGATION_LAYER = 'identity_delegation';

export const delegationMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'revocations and used nonces',
    up: `
      CREATE TABLE identity_delegation_revocations (
        tenant_id TEXT NOT NULL,
        cid TEXT NOT NULL,
        reason TEXT NOT NULL,
        revoked_by TEXT NOT NULL,
        revoked_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, cid)
      );
      CREATE TABLE identity_delegation_nonces (
        issuer TEXT NOT NULL,
        nonce TEXT NOT NULL,
        tenant_id TEXT NOT NULL,
        invocation_cid TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (issuer, nonce)
      );
      CREATE INDEX identity_delegation_nonces_expiry ON identity_delegation_nonces (expires_at)
    `,
  },
];
