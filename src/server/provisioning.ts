/**
 * @module server/provisioning
 * Opens the provisioner for a runtime: one driver per kind the server can make (`sqlite` files
 * under the data directory, `postgres` databases when a PostgreSQL server is configured, the
 * compute layer's persistent sandboxes and browser contexts), secrets sealed with the master key,
 * usage metered into the billing core's meters, transitions in the tenant's audit log, and the
 * sweeper (idle suspension, TTL, reaping half-made resources) started. Admission is billing's:
 * an unpriced kind fails closed, and a provision's price is held against the tenant's budgets.
 */
import { join, resolve } from 'node:path';
import {
  newId,
  type Clock,
  type Kernel,
  type Logger,
  type StrataConfig,
  type Store,
} from '../kernel/index.ts';
import type { BrowserSessions, SandboxManager } from '../compute/index.ts';
import {
  BrowserResourceDriver,
  PostgresResourceDriver,
  ResourceManager,
  ResourceSweeper,
  SandboxResourceDriver,
  SealedSecretStore,
  SqliteResourceDriver,
  priceAdmission,
  type Billing,
  type PriceBook,
  type SpendTokens,
  type ResourceDriver,
} from '../provisioning/index.ts';

export interface ProvisioningParts {
  readonly store: Store;
  readonly config: StrataConfig;
  readonly masterKey: Buffer;
  readonly kernel: Kernel;
  readonly billing: Billing;
  readonly sandboxes: SandboxManager;
  readonly browsers: BrowserSessions;
  readonly profilesDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Kinds without a price fail closed; a provision's price is held against the budgets. */
  readonly prices: PriceBook;
  /** A provision may be paid with a spend token instead. */
  readonly spendTokens: SpendTokens;
}

/** The PostgreSQL server `postgres` resources go on: configured, else the store's own server. */
export function postgresAdminUrlOf(config: StrataConfig, databaseUrl: string): string | undefined {
  if (config.provisioning.postgresAdminUrl) return config.provisioning.postgresAdminUrl;
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) return undefined;
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

export async function openProvisioning(
  parts: ProvisioningParts,
  databaseUrl: string,
): Promise<{ resources: ResourceManager; sweeper: ResourceSweeper }> {
  const dataDir = resolve(parts.config.dataDir);
  const drivers: ResourceDriver[] = [
    new SqliteResourceDriver({ dir: join(dataDir, 'resources', 'sqlite') }),
    new SandboxResourceDriver(parts.sandboxes),
    new BrowserResourceDriver({ sessions: parts.browsers, profilesDir: parts.profilesDir }),
  ];
  const adminUrl = postgresAdminUrlOf(parts.config, databaseUrl);
  if (adminUrl) drivers.push(new PostgresResourceDriver({ adminUrl }));
  const byKind = new Map(drivers.map((d) => [d.kind, d.meters]));
  const admit = priceAdmission({
    prices: parts.prices,
    budgets: parts.billing.budgets,
    tokens: parts.spendTokens,
    metersOf: (kind) =>
      byKind.get(kind) ?? { provisions: `${kind}.provisions`, readySeconds: `${kind}.ready_seconds` },
  });
  const resources = await ResourceManager.open({
    store: parts.store,
    drivers,
    secrets: new SealedSecretStore({ store: parts.store, masterKey: parts.masterKey, clock: parts.clock }),
    meters: parts.billing.meters,
    clock: parts.clock,
    logger: parts.logger,
    admit,
    defaultIdleMs: parts.config.provisioning.idleTimeoutMs,
    audit: async (entry) => {
      await parts.kernel.audit.append({
        id: newId('aud', parts.clock.now()),
        tenantId: entry.tenantId,
        ts: parts.clock.now(),
        principalId: 'system:provisioner',
        action: entry.action,
        resource: entry.resource,
        outcome: 'ok',
        errorCode: null,
        detail: entry.detail,
        durationUs: 0,
        costMicros: 0,
      });
    },
  });
  const sweeper = new ResourceSweeper(resources, { logger: parts.logger });
  sweeper.start(parts.config.provisioning.sweepIntervalMs);
  return { resources, sweeper };
}
