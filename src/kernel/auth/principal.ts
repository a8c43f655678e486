/**
 * @module kernel/auth/principal
 * Who is calling, and the records behind principals. Kept in its own file because the pipeline, the
 * server and the authority all need the types without pulling in storage code.
 */
import type { Grant } from './grants.ts';

/** The authenticated caller of a syscall. Its `tenantId` scopes every object it touches. */
export interface Principal {
  readonly tenantId: string;
  /** The API key id, or the token's subject (usually an agent id). */
  readonly id: string;
  readonly kind: 'api_key' | 'agent';
  /** The effective grants; with a token, the token's grants. */
  readonly grants: readonly Grant[];
  /** Set when the principal was authenticated by a capability token. */
  readonly tokenJti?: string;
}

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
}

/** An API key as listed: never the secret, never its hash. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly grants: readonly Grant[];
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface Agent {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly createdAt: number;
}
