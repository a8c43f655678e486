/**
 * @module provisioning/resources/secrets
 * Resource secrets (database passwords, connection strings) sealed at rest with the server's
 * master key (AES-256-GCM, the tenant and resource id as associated data, so a sealed value moved
 * to another row fails to open). Plain values exist only in memory, on their way to the caller.
 */
import { openSealed, seal, type Clock, type Store } from '../../kernel/index.ts';
import type { ResourceSecretStore } from './manager.ts';

export class SealedSecretStore implements ResourceSecretStore {
  readonly #store: Store;
  readonly #key: Buffer;
  readonly #clock: Clock;

  /** The store must be migrated by `ResourceManager.open` (table `prov_secrets`). */
  constructor(options: { store: Store; masterKey: Buffer; clock: Clock }) {
    this.#store = options.store;
    this.#key = options.masterKey;
    this.#clock = options.clock;
  }

  async put(tenantId: string, resourceId: string, secrets: Readonly<Record<string, string>>): Promise<void> {
    const sealed = seal(this.#key, Buffer.from(JSON.stringify(secrets)), `${tenantId}/${resourceId}`);
    await this.#store.run(
      `INSERT INTO prov_secrets (tenant_id, resource_id, sealed, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (tenant_id, resource_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
      [tenantId, resourceId, sealed, this.#clock.now()],
    );
  }

  async get(tenantId: string, resourceId: string): Promise<Record<string, string>> {
    const row = await this.#store.get<{ sealed: string }>(
      'SELECT sealed FROM prov_secrets WHERE tenant_id = ? AND resource_id = ?',
      [tenantId, resourceId],
    );
    if (!row) return {};
    return JSON.parse(openSealed(this.#key, row.sealed, `${tenantId}/${resourceId}`).toString()) as Record<
      string,
      string
    >;
  }

  async remove(tenantId: string, resourceId: string): Promise<void> {
    await this.#store.run('DELETE FROM prov_secrets WHERE tenant_id = ? AND resource_id = ?', [
      tenantId,
      resourceId,
    ]);
  }
}
