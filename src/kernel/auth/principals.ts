/**
 * @module kernel/auth/principals
 * Tenants, API keys and agents: the principals that can call syscalls. API keys are stored only as
 * SHA-256 hashes of their secret; the key itself is returned once, at creation. Every failure to
 * authenticate a key throws the same E_UNAUTHENTICATED message, which never echoes the key, so a
 * caller learns nothing about which part was wrong.
 *
 * Needs the `kernel.auth` schema ({@link migrateAuth}, or `CapabilityAuthority.open`).
 */
import type { Clock } from '../clock.ts';
import { StrataError, isStrataError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Store } from '../store/store.ts';
import { ApiKeyCache, formatApiKey, hashSecret, newSecret, parseApiKey, secretMatches } from './api-keys.ts';
import { freezeGrants, parseGrants, type Grant } from './grants.ts';
import type { Agent, ApiKeyRecord, Principal, Tenant } from './principal.ts';
import { toAgent, toApiKey, toTenant, type AgentRow, type ApiKeyRow, type TenantRow } from './rows.ts';

/** DNS-label-like names: safe in URLs, hostnames, paths and resource patterns. */
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const UNAUTHENTICATED = 'invalid or revoked API key';
/** Compared against when the key id is unknown, so both failure paths do the same work. */
const DUMMY_HASH = hashSecret('strata-dummy-secret');

function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw new StrataError(
      'E_INVALID_INPUT',
      `${kind} name must be 1-63 chars of [a-z0-9-], starting alphanumeric`,
      {
        issues: [{ path: 'name', message: 'invalid name' }],
      },
    );
  }
}

/** Turns the store's unique-violation E_CONFLICT into one that says what already exists. */
async function uniquely<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (isStrataError(error) && error.code === 'E_CONFLICT') {
      throw new StrataError('E_CONFLICT', `${what} already exists`, undefined, { cause: error });
    }
    throw error;
  }
}

export class Principals {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #cache: ApiKeyCache;

  constructor(options: { store: Store; clock: Clock }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#cache = new ApiKeyCache(options.clock);
  }

  async createTenant(name: string): Promise<Tenant> {
    checkName('tenant', name);
    const tenant: Tenant = { id: newId('ten', this.#clock.now()), name, createdAt: this.#clock.now() };
    await uniquely(`tenant "${name}"`, () =>
      this.#store.run('INSERT INTO kernel_tenants (id, name, created_at) VALUES (?, ?, ?)', [
        tenant.id,
        name,
        tenant.createdAt,
      ]),
    );
    return tenant;
  }

  /** By id (`ten_…`) or by name; names cannot contain `_`, so the two never collide. */
  async getTenant(idOrName: string): Promise<Tenant> {
    const row = await this.#store.get<TenantRow>('SELECT * FROM kernel_tenants WHERE id = ? OR name = ?', [
      idOrName,
      idOrName,
    ]);
    if (row === undefined) throw new StrataError('E_NOT_FOUND', `tenant "${idOrName}" not found`);
    return toTenant(row);
  }

  async listTenants(): Promise<Tenant[]> {
    const rows = await this.#store.all<TenantRow>('SELECT * FROM kernel_tenants ORDER BY name');
    return rows.map(toTenant);
  }

  /** Creates a key; `key` is shown only here and cannot be recovered later. */
  async createApiKey(input: {
    tenantId: string;
    name: string;
    grants: readonly Grant[];
  }): Promise<{ key: string; record: ApiKeyRecord }> {
    if (input.name.length < 1 || input.name.length > 100) {
      throw new StrataError('E_INVALID_INPUT', 'API key name must be 1-100 chars', {
        issues: [{ path: 'name', message: 'invalid length' }],
      });
    }
    const grants = parseGrants(input.grants);
    await this.#requireTenant(input.tenantId);
    const now = this.#clock.now();
    const record: ApiKeyRecord = {
      id: newId('key', now),
      tenantId: input.tenantId,
      name: input.name,
      grants: freezeGrants(grants),
      createdAt: now,
      revokedAt: null,
    };
    const secret = newSecret();
    await this.#store.run(
      'INSERT INTO kernel_api_keys (id, tenant_id, name, secret_hash, grants, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [record.id, record.tenantId, record.name, hashSecret(secret), JSON.stringify(grants), now],
    );
    return { key: formatApiKey(record.id, secret), record };
  }

  async authenticateApiKey(key: string): Promise<Principal> {
    const parsed = parseApiKey(key);
    if (parsed === undefined) throw new StrataError('E_UNAUTHENTICATED', UNAUTHENTICATED);
    const cached = this.#cache.get(parsed.id, parsed.secret);
    if (cached !== undefined) return cached;
    const generation = this.#cache.generation;
    const row = await this.#store.get<ApiKeyRow>('SELECT * FROM kernel_api_keys WHERE id = ?', [parsed.id]);
    const ok = secretMatches(parsed.secret, row?.secret_hash ?? DUMMY_HASH);
    if (row === undefined || !ok || row.revoked_at !== null) {
      throw new StrataError('E_UNAUTHENTICATED', UNAUTHENTICATED);
    }
    const record = toApiKey(row);
    const principal: Principal = Object.freeze({
      tenantId: record.tenantId,
      id: record.id,
      kind: 'api_key',
      grants: record.grants,
    });
    this.#cache.set(record.id, row.secret_hash, principal, generation);
    return principal;
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.#store.all<ApiKeyRow>(
      'SELECT * FROM kernel_api_keys WHERE tenant_id = ? ORDER BY created_at, id',
      [tenantId],
    );
    return rows.map(toApiKey);
  }

  /** Idempotent; E_NOT_FOUND when the key is not in `tenantId` (another tenant's key looks absent). */
  async revokeApiKey(tenantId: string, id: string): Promise<void> {
    const { changes } = await this.#store.run(
      'UPDATE kernel_api_keys SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL',
      [this.#clock.now(), id, tenantId],
    );
    // After the update: a lookup that read the row before it cannot cache it any more.
    this.#cache.delete(id);
    if (changes > 0) return;
    const exists = await this.#store.get('SELECT id FROM kernel_api_keys WHERE id = ? AND tenant_id = ?', [
      id,
      tenantId,
    ]);
    if (exists === undefined) throw new StrataError('E_NOT_FOUND', `API key "${id}" not found`);
  }

  async createAgent(input: { tenantId: string; name: string }): Promise<Agent> {
    checkName('agent', input.name);
    await this.#requireTenant(input.tenantId);
    const now = this.#clock.now();
    const agent: Agent = {
      id: newId('agt', now),
      tenantId: input.tenantId,
      name: input.name,
      createdAt: now,
    };
    await uniquely(`agent "${input.name}"`, () =>
      this.#store.run('INSERT INTO kernel_agents (id, tenant_id, name, created_at) VALUES (?, ?, ?, ?)', [
        agent.id,
        agent.tenantId,
        agent.name,
        now,
      ]),
    );
    return agent;
  }

  async listAgents(tenantId: string): Promise<Agent[]> {
    const rows = await this.#store.all<AgentRow>(
      'SELECT * FROM kernel_agents WHERE tenant_id = ? ORDER BY name',
      [tenantId],
    );
    return rows.map(toAgent);
  }

  async #requireTenant(id: string): Promise<void> {
    const row = await this.#store.get('SELECT id FROM kernel_tenants WHERE id = ?', [id]);
    if (row === undefined) throw new StrataError('E_NOT_FOUND', `tenant "${id}" not found`);
  }
}
