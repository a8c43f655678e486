/**
 * @module kernel/auth
 * Authentication and capabilities: who is calling (tenants, API keys, agents, capability tokens) and
 * what they may do (grants). The syscall pipeline's first step is
 * `authority.authenticate(credentials, principals)` then `authority.authorize(principal, call)`;
 * there is no other path to a syscall, and a principal with no matching grant is denied.
 *
 * Why capability tokens rather than roles: an agent can hand a sub-task a token narrowed to exactly
 * what it needs (attenuation), with a shorter life, and revoke it; the chain travels inside the
 * token, so every process can verify it with only the public keys and the revocation table.
 *
 * @example
 * await migrateAuth(store);
 * const principals = new Principals({ store, clock });
 * const authority = await CapabilityAuthority.open({ store, clock, masterKey });
 * const tenant = await principals.createTenant('acme');
 * const { token } = await authority.issue({
 *   tenantId: tenant.id, subject: 'agt_…', ttlSeconds: 3600,
 *   grants: [{ syscall: 'memory.*', resource: 'memory/agent/a1/*' }],
 * });
 * const principal = await authority.authenticate({ token }, principals);
 * authority.authorize(principal, { syscall: 'memory.search', resource: 'memory/agent/a1/notes', costMicros: 0 });
 */
export { resolvePrincipal, type Credentials } from './authenticate.ts';
export { CapabilityAuthority } from './capabilities.ts';
export {
  findGrant,
  grantCovers,
  grantSchema,
  grantsSchema,
  matches,
  parseGrants,
  patternCovers,
  type CallRequest,
  type Grant,
  type GrantConstraints,
  type Separator,
} from './grants.ts';
export { AUTH_LAYER, authMigrations, migrateAuth } from './migrations.ts';
export type { Agent, ApiKeyRecord, Principal, Tenant } from './principal.ts';
export { Principals } from './principals.ts';
export { MAX_CHAIN_DEPTH, MAX_TTL_SECONDS, TOKEN_TYPE, type CapabilityClaims } from './token-claims.ts';
