/**
 * @module kernel/auth/rows
 * Rows of the `kernel.auth` tables and their mapping to records. BIGINT columns go through
 * `Number()` because a driver may hand back strings or bigints for 64-bit integers; grants are
 * re-validated on read so a hand-edited row cannot smuggle in an invalid pattern.
 */
import { freezeGrants, parseGrants } from './grants.ts';
import type { Agent, ApiKeyRecord, Tenant } from './principal.ts';

export interface TenantRow extends Record<string, unknown> {
  id: string;
  name: string;
  created_at: number;
}
export interface ApiKeyRow extends Record<string, unknown> {
  id: string;
  tenant_id: string;
  name: string;
  secret_hash: string;
  grants: string;
  created_at: number;
  revoked_at: number | null;
}
export interface AgentRow extends Record<string, unknown> {
  id: string;
  tenant_id: string;
  name: string;
  created_at: number;
}

export const toTenant = (r: TenantRow): Tenant => ({
  id: r.id,
  name: r.name,
  createdAt: Number(r.created_at),
});
export const toAgent = (r: AgentRow): Agent => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  createdAt: Number(r.created_at),
});
export const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  grants: freezeGrants(parseGrants(JSON.parse(r.grants))),
  createdAt: Number(r.created_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});
