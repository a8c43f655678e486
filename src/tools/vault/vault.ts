/**
 * @module tools/vault/vault
 * The credential vault: named connections (API key, bearer token, OAuth2 client) per tenant, either
 * tenant-wide or owned by one principal (a connected account, which wins over the tenant-wide one
 * of the same name when that principal calls).
 *
 * Encryption at rest is envelope encryption with the kernel's sealed box (AES-256-GCM): each tenant
 * has a random 32-byte data key, sealed by the master key; each connection's secret fields are
 * sealed by its tenant's data key, bound (AAD) to tenant, name and owner so a sealed value copied
 * into another row does not open. Secrets leave the vault only as the headers or query parameters
 * of an outgoing call ({@link Vault.inject}); listing returns metadata only.
 *
 * OAuth2: `client_credentials` and `refresh_token` grants against the connection's token endpoint,
 * refreshed automatically shortly before expiry and on demand after a 401 (single-flight per
 * connection, so a burst of calls triggers one refresh).
 */
import { randomBytes } from 'node:crypto';
import { newId, openSealed, seal, StrataError, type Clock, type Store } from '../../kernel/index.ts';
import { TOOLS_LAYER, toolsMigrations } from '../migrations.ts';
import { requestToken, type TokenGrant } from './oauth.ts';

export type CredentialKind = 'api_key' | 'bearer' | 'oauth2';

/** The secret fields of a connection; only some apply to each kind. */
export interface ConnectionSecrets {
  /** `api_key`: the key. */
  value?: string;
  /** `bearer`: the token. */
  token?: string;
  /** `oauth2` */
  clientSecret?: string;
  refreshToken?: string;
  accessToken?: string;
}

/** What is not secret about a connection. */
export type ConnectionMeta = {
  /** `api_key`: where the key goes. @default 'header' */
  in?: 'header' | 'query';
  /** `api_key`: the header or query parameter name. @default 'X-API-Key' (header) / 'api_key' (query) */
  paramName?: string;
  /** `oauth2` */
  tokenUrl?: string;
  clientId?: string;
  scope?: string;
  /** `oauth2`: when the access token expires (epoch ms). */
  expiresAt?: number;
};

export interface ConnectionInfo {
  readonly id: string;
  readonly name: string;
  /** `''` for tenant-wide, else the owning principal's id. */
  readonly owner: string;
  readonly kind: CredentialKind;
  readonly meta: ConnectionMeta;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface PutConnection {
  name: string;
  owner?: string;
  kind: CredentialKind;
  secrets: ConnectionSecrets;
  meta?: ConnectionMeta;
}

/** Headers and query parameters carrying a credential, plus the secret values for scrubbing. */
export interface Injection {
  readonly headers: Record<string, string>;
  readonly query: Record<string, string>;
  readonly secrets: readonly string[];
}

type ConnectionRow = {
  id: string;
  tenant_id: string;
  name: string;
  owner: string;
  kind: string;
  sealed: string;
  meta: string;
  created_at: number;
  updated_at: number;
};

/** Refresh an access token this long before it expires. */
const REFRESH_SKEW_MS = 60_000;

const aadOf = (row: { tenant_id: string; name: string; owner: string }): string =>
  `tools-vault:${row.tenant_id}/${row.name}/${row.owner}`;

function infoOf(row: ConnectionRow): ConnectionInfo {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    kind: row.kind as CredentialKind,
    meta: JSON.parse(row.meta) as ConnectionMeta,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function secretsIn(secrets: ConnectionSecrets): string[] {
  return Object.values(secrets).filter((v): v is string => typeof v === 'string' && v.length > 0);
}

export interface VaultOptions {
  store: Store;
  masterKey: Buffer;
  clock: Clock;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

export class Vault {
  readonly #store: Store;
  readonly #masterKey: Buffer;
  readonly #clock: Clock;
  readonly #fetch: typeof fetch;
  readonly #dataKeys = new Map<string, Buffer>();
  readonly #refreshing = new Map<string, Promise<ConnectionRow>>();

  private constructor(options: VaultOptions) {
    this.#store = options.store;
    this.#masterKey = options.masterKey;
    this.#clock = options.clock;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  static async open(options: VaultOptions): Promise<Vault> {
    await options.store.migrate(TOOLS_LAYER, toolsMigrations);
    return new Vault(options);
  }

  /** Creates or replaces (rotates) a connection. */
  async put(tenantId: string, input: PutConnection): Promise<ConnectionInfo> {
    const owner = input.owner ?? '';
    checkShape(input);
    const now = this.#clock.now();
    const key = await this.#dataKey(tenantId);
    const sealed = seal(
      key,
      Buffer.from(JSON.stringify(input.secrets)),
      aadOf({ tenant_id: tenantId, name: input.name, owner }),
    );
    const meta = JSON.stringify(input.meta ?? {});
    await this.#store.run(
      `INSERT INTO tools_connections (id, tenant_id, name, owner, kind, sealed, meta, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, name, owner) DO UPDATE SET kind = excluded.kind, sealed = excluded.sealed,
         meta = excluded.meta, updated_at = excluded.updated_at`,
      [newId('con', now), tenantId, input.name, owner, input.kind, sealed, meta, now, now],
    );
    return infoOf(await this.#row(tenantId, input.name, owner));
  }

  /** Every connection of the tenant, without secrets. */
  async list(tenantId: string): Promise<ConnectionInfo[]> {
    const rows = await this.#store.all<ConnectionRow>(
      'SELECT * FROM tools_connections WHERE tenant_id = ? ORDER BY name, owner',
      [tenantId],
    );
    return rows.map(infoOf);
  }

  async remove(tenantId: string, name: string, owner = ''): Promise<void> {
    const { changes } = await this.#store.run(
      'DELETE FROM tools_connections WHERE tenant_id = ? AND name = ? AND owner = ?',
      [tenantId, name, owner],
    );
    if (changes === 0) throw new StrataError('E_NOT_FOUND', `connection "${name}" not found`, { name });
  }

  /**
   * Stores an OAuth2 client and fetches its first access token (client credentials, or the given
   * refresh token), so a misconfigured client fails now rather than at the first tool call.
   */
  async connect(
    tenantId: string,
    input: { name: string; owner?: string; secrets: ConnectionSecrets; meta: ConnectionMeta },
  ): Promise<ConnectionInfo> {
    await this.put(tenantId, { ...input, kind: 'oauth2' });
    const row = await this.#refresh(await this.#row(tenantId, input.name, input.owner ?? ''));
    return infoOf(row);
  }

  /** The credential of connection `name` as seen by `principalId`, refreshed if about to expire. */
  async inject(tenantId: string, name: string, principalId: string): Promise<Injection> {
    let row = await this.#resolve(tenantId, name, principalId);
    let secrets = await this.#open(row);
    if (row.kind === 'oauth2') {
      const meta = JSON.parse(row.meta) as ConnectionMeta;
      const stale = meta.expiresAt !== undefined && meta.expiresAt - REFRESH_SKEW_MS <= this.#clock.now();
      if (!secrets.accessToken || stale) {
        row = await this.#refresh(row);
        secrets = await this.#open(row);
      }
    }
    return injectionOf(row, secrets);
  }

  /**
   * The bare credential (API key, bearer or access token) of a connection, for transports that
   * cannot carry headers (a stdio MCP server's environment). Internal: no syscall returns it.
   */
  async reveal(
    tenantId: string,
    name: string,
    principalId: string,
  ): Promise<{ value: string; secrets: readonly string[] }> {
    const injection = await this.inject(tenantId, name, principalId);
    const header = Object.values(injection.headers)[0] ?? Object.values(injection.query)[0] ?? '';
    return { value: header.replace(/^Bearer /, ''), secrets: injection.secrets };
  }

  /** Forces an OAuth2 refresh (after the upstream answered 401) and returns the new credential. */
  async refreshAfterRejection(
    tenantId: string,
    name: string,
    principalId: string,
  ): Promise<Injection | null> {
    const row = await this.#resolve(tenantId, name, principalId);
    if (row.kind !== 'oauth2') return null;
    const fresh = await this.#refresh(row);
    return injectionOf(fresh, await this.#open(fresh));
  }

  /** One refresh at a time per connection; concurrent callers share its result. */
  #refresh(row: ConnectionRow): Promise<ConnectionRow> {
    const key = row.id;
    const pending = this.#refreshing.get(key);
    if (pending) return pending;
    const run = this.#doRefresh(row).finally(() => this.#refreshing.delete(key));
    this.#refreshing.set(key, run);
    return run;
  }

  async #doRefresh(row: ConnectionRow): Promise<ConnectionRow> {
    const secrets = await this.#open(row);
    const meta = JSON.parse(row.meta) as ConnectionMeta;
    if (!meta.tokenUrl || !meta.clientId) {
      throw new StrataError('E_INVALID_INPUT', `connection "${row.name}" has no tokenUrl or clientId`);
    }
    const grant: TokenGrant = secrets.refreshToken
      ? { type: 'refresh_token', refreshToken: secrets.refreshToken }
      : { type: 'client_credentials' };
    const token = await requestToken(this.#fetch, {
      connection: row.name,
      tokenUrl: meta.tokenUrl,
      clientId: meta.clientId,
      clientSecret: secrets.clientSecret,
      scope: meta.scope,
      grant,
    });
    const next: ConnectionSecrets = {
      ...secrets,
      accessToken: token.accessToken,
      refreshToken: token.refreshToken ?? secrets.refreshToken,
    };
    const expiresAt =
      token.expiresInS === undefined ? undefined : this.#clock.now() + token.expiresInS * 1000;
    const nextMeta: ConnectionMeta = { ...meta, expiresAt };
    const key = await this.#dataKey(row.tenant_id);
    const sealed = seal(key, Buffer.from(JSON.stringify(next)), aadOf(row));
    const now = this.#clock.now();
    await this.#store.run('UPDATE tools_connections SET sealed = ?, meta = ?, updated_at = ? WHERE id = ?', [
      sealed,
      JSON.stringify(nextMeta),
      now,
      row.id,
    ]);
    return { ...row, sealed, meta: JSON.stringify(nextMeta), updated_at: now };
  }

  async #resolve(tenantId: string, name: string, principalId: string): Promise<ConnectionRow> {
    // The principal's own connected account sorts after the tenant-wide '' and wins.
    const row = await this.#store.get<ConnectionRow>(
      `SELECT * FROM tools_connections WHERE tenant_id = ? AND name = ? AND owner IN (?, '')
       ORDER BY owner DESC LIMIT 1`,
      [tenantId, name, principalId],
    );
    if (!row) {
      throw new StrataError('E_NOT_FOUND', `vault connection "${name}" not found`, { connection: name });
    }
    return row;
  }

  async #row(tenantId: string, name: string, owner: string): Promise<ConnectionRow> {
    const row = await this.#store.get<ConnectionRow>(
      'SELECT * FROM tools_connections WHERE tenant_id = ? AND name = ? AND owner = ?',
      [tenantId, name, owner],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `connection "${name}" not found`, { connection: name });
    return row;
  }

  async #open(row: ConnectionRow): Promise<ConnectionSecrets> {
    const key = await this.#dataKey(row.tenant_id);
    return JSON.parse(openSealed(key, row.sealed, aadOf(row)).toString('utf8')) as ConnectionSecrets;
  }

  /** The tenant's data key, created (and sealed by the master key) on first use. */
  async #dataKey(tenantId: string): Promise<Buffer> {
    const cached = this.#dataKeys.get(tenantId);
    if (cached) return cached;
    const aad = `tools-vault-key:${tenantId}`;
    let row = await this.#store.get<{ sealed_key: string }>(
      'SELECT sealed_key FROM tools_vault_keys WHERE tenant_id = ?',
      [tenantId],
    );
    if (!row) {
      const sealedKey = seal(this.#masterKey, randomBytes(32), aad);
      // Two processes racing here both insert; the loser's key is dropped and both read the winner.
      await this.#store.run(
        'INSERT INTO tools_vault_keys (tenant_id, sealed_key, created_at) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO NOTHING',
        [tenantId, sealedKey, this.#clock.now()],
      );
      row = await this.#store.get<{ sealed_key: string }>(
        'SELECT sealed_key FROM tools_vault_keys WHERE tenant_id = ?',
        [tenantId],
      );
    }
    const key = openSealed(this.#masterKey, (row as { sealed_key: string }).sealed_key, aad);
    this.#dataKeys.set(tenantId, key);
    return key;
  }
}

function checkShape(input: PutConnection): void {
  const { kind, secrets, meta } = input;
  const missing =
    kind === 'api_key' && !secrets.value
      ? 'secret value'
      : kind === 'bearer' && !secrets.token
        ? 'secret token'
        : kind === 'oauth2' && (!meta?.tokenUrl || !meta.clientId)
          ? 'tokenUrl and clientId'
          : undefined;
  if (missing !== undefined) {
    throw new StrataError('E_INVALID_INPUT', `a ${kind} connection needs its ${missing}`, {
      connection: input.name,
    });
  }
}

function injectionOf(row: ConnectionRow, secrets: ConnectionSecrets): Injection {
  const meta = JSON.parse(row.meta) as ConnectionMeta;
  const all = secretsIn(secrets);
  switch (row.kind as CredentialKind) {
    case 'api_key': {
      const value = secrets.value ?? '';
      if (meta.in === 'query')
        return { headers: {}, query: { [meta.paramName ?? 'api_key']: value }, secrets: all };
      return { headers: { [meta.paramName ?? 'X-API-Key']: value }, query: {}, secrets: all };
    }
    case 'bearer':
      return { headers: { Authorization: `Bearer ${secrets.token ?? ''}` }, query: {}, secrets: all };
    case 'oauth2':
      return { headers: { Authorization: `Bearer ${secrets.accessToken ?? ''}` }, query: {}, secrets: all };
  }
}
