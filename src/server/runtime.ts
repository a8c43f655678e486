/**
 * @module server/runtime
 * Turns a configuration into a running kernel: the data directory, the master key, the store, the
 * kernel with every layer's syscalls registered, and — on first start — a default tenant with an
 * admin API key. The server and the CLI both start here, so they always see the same state.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  databaseUrlOf,
  Kernel,
  openStore,
  parseMasterKey,
  silentLogger,
  type Clock,
  type Logger,
  type StrataConfig,
} from '../kernel/index.ts';

export interface Runtime {
  readonly kernel: Kernel;
  readonly config: StrataConfig;
  readonly databaseUrl: string;
  close(): Promise<void>;
}

export interface OpenRuntimeOptions {
  config: StrataConfig;
  logger?: Logger;
  clock?: Clock;
}

/** The master key from config, else from `<dataDir>/master.key`, created (mode 0600) on first use. */
export function loadMasterKey(config: StrataConfig): Buffer {
  if (config.masterKey) return parseMasterKey(config.masterKey);
  const dir = resolve(config.dataDir);
  const file = join(dir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return parseMasterKey(readFileSync(file, 'utf8').trim());
}

export async function openRuntime(options: OpenRuntimeOptions): Promise<Runtime> {
  const { config } = options;
  mkdirSync(resolve(config.dataDir), { recursive: true, mode: 0o700 });
  const masterKey = loadMasterKey(config);
  const databaseUrl = databaseUrlOf(config);
  const store = await openStore(databaseUrl);
  try {
    const kernel = await Kernel.open({
      store,
      masterKey,
      logger: options.logger ?? silentLogger(),
      clock: options.clock,
    });
    return { kernel, config, databaseUrl, close: () => kernel.close(config.server.drainTimeoutMs) };
  } catch (error) {
    await store.close();
    throw error;
  }
}

export interface BootstrapResult {
  readonly tenantId: string;
  /** Set only when the key was created now: it is shown once and never stored in clear. */
  readonly adminKey?: string;
  readonly adminKeyFile?: string;
}

/**
 * On an empty database, creates tenant `default` and an admin key granted every syscall, and saves
 * the key to `<dataDir>/admin.key` (mode 0600) so the CLI on this machine can use it.
 */
export async function bootstrapDefaultTenant(runtime: Runtime): Promise<BootstrapResult> {
  const { principals } = runtime.kernel;
  const tenants = await principals.listTenants();
  if (tenants.length > 0) return { tenantId: (tenants[0] as { id: string }).id };
  const tenant = await principals.createTenant('default');
  const { key } = await principals.createApiKey({
    tenantId: tenant.id,
    name: 'admin',
    grants: [{ syscall: '*', resource: '*' }],
  });
  const adminKeyFile = join(resolve(runtime.config.dataDir), 'admin.key');
  writeFileSync(adminKeyFile, key + '\n', { mode: 0o600 });
  chmodSync(adminKeyFile, 0o600);
  return { tenantId: tenant.id, adminKey: key, adminKeyFile };
}
