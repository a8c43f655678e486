/**
 * @module compute/sandbox/manager
 * The driver registry and the sandboxes it created, per owner (a tenant id, or `''` for library
 * use). It owns workspaces and snapshots; drivers only run processes against a workspace.
 *
 * Layout: persistent sandboxes live in `<dataDir>/compute/persistent/<id>/` (`sandbox.json` and
 * `workspace/`) and are found again when a manager opens the same data directory, paused. Ephemeral
 * workspaces are tmpfs mounts (size = the workspace limit, from a warm {@link TmpfsPool}) under a
 * run directory private to this process, emptied on destroy; a run directory left by a dead
 * process is cleaned up (unmounted, removed) on open.
 * Snapshots are gzipped tarballs in `<dataDir>/compute/snapshots/<sha256>.tar.gz`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { systemClock, type Clock } from '../../kernel/clock.ts';
import { StrataError } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { silentLogger, type Logger } from '../../kernel/logger.ts';
import { SandboxHealth, type SandboxHealthOptions } from './health.ts';
import { parseSpec } from './spec.ts';
import type { Sandbox, SandboxDriver, SandboxInfo, SandboxSpec } from './types.ts';
import { isMountPoint, TmpfsPool, unmount } from './tmpfs-pool.ts';
import { HostSandbox, type Meta } from './host-sandbox.ts';
import { SnapshotStore } from './workspace.ts';

export interface SandboxManagerOptions {
  /** Persistent workspaces and snapshots go under `<dataDir>/compute`. */
  readonly dataDir: string;
  readonly drivers: readonly SandboxDriver[];
  /** @default the first driver */
  readonly defaultDriver?: string;
  /** Parent of this process's run directory (ephemeral workspaces, sockets). @default os.tmpdir() */
  readonly runRoot?: string;
  /** `auto` mounts a tmpfs per ephemeral workspace when permitted; `none` uses plain directories. */
  readonly tmpfs?: 'auto' | 'none';
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Thresholds of the health reading. */
  readonly health?: SandboxHealthOptions;
}

export class SandboxManager {
  readonly #drivers = new Map<string, SandboxDriver>();
  readonly #sandboxes = new Map<string, HostSandbox>();
  readonly #reserved = new Set<string>();
  readonly #defaultDriver: string;
  readonly #root: string;
  readonly #runDir: string;
  readonly #pool: TmpfsPool | undefined;
  readonly snapshots: SnapshotStore;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Failed driver checks and starts, OOM kills (see health.ts). */
  readonly health: SandboxHealth;
  #closed = false;

  private constructor(options: SandboxManagerOptions, tmpfs: boolean) {
    for (const driver of options.drivers) this.#drivers.set(driver.name, driver);
    const first = options.drivers[0];
    if (!first) throw new StrataError('E_CONFIG', 'a sandbox manager needs at least one driver');
    this.#defaultDriver = options.defaultDriver ?? first.name;
    this.#root = join(resolve(options.dataDir), 'compute');
    // One directory per manager (several may live in one process): `<pid>-<random>`.
    this.#runDir = join(
      options.runRoot ?? join(tmpdir(), 'strata-compute'),
      `${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    this.#pool = tmpfs ? new TmpfsPool({ dir: join(this.#runDir, 'pool') }) : undefined;
    this.snapshots = new SnapshotStore(join(this.#root, 'snapshots'));
    this.logger = options.logger ?? silentLogger();
    this.clock = options.clock ?? systemClock;
    this.health = new SandboxHealth(this.clock, options.health);
  }

  /** Opens the manager: cleans run directories of dead processes, loads persistent sandboxes. */
  static async open(options: SandboxManagerOptions): Promise<SandboxManager> {
    const tmpfs = options.tmpfs !== 'none' && process.platform === 'linux' && process.getuid?.() === 0;
    const manager = new SandboxManager(options, tmpfs);
    await mkdir(join(manager.#root, 'persistent'), { recursive: true, mode: 0o700 });
    await mkdir(manager.#runDir, { recursive: true, mode: 0o700 });
    await manager.#sweepDeadRunDirs();
    await manager.#loadPersistent();
    return manager;
  }

  get runDir(): string {
    return this.#runDir;
  }

  /** Registered drivers by name. */
  drivers(): string[] {
    return [...this.#drivers.keys()];
  }

  registerDriver(driver: SandboxDriver): void {
    this.#drivers.set(driver.name, driver);
  }

  #driver(name: string | undefined): SandboxDriver {
    const key = name ?? this.#defaultDriver;
    const driver = this.#drivers.get(key);
    if (!driver) {
      throw new StrataError('E_INVALID_INPUT', `no sandbox driver "${key}"`, {
        issues: [{ path: 'driver', message: `available: ${this.drivers().join(', ')}` }],
      });
    }
    return driver;
  }

  async create(input: unknown, owner = ''): Promise<Sandbox> {
    if (this.#closed) throw new StrataError('E_SHUTTING_DOWN', 'the sandbox manager is closed');
    const requested = (input as { driver?: unknown } | null)?.driver;
    const driver = this.#driver(typeof requested === 'string' ? requested : undefined);
    const spec = parseSpec(input, driver.runtimes());
    await this.health.check(driver.name, driver.check());
    // Names are reserved synchronously, so two concurrent creates cannot both take one.
    const nameKey = spec.name === undefined ? undefined : `${owner}\0${spec.name}`;
    if (spec.name !== undefined && (this.#find(owner, spec.name) || this.#reserved.has(nameKey as string))) {
      throw new StrataError('E_CONFLICT', `a sandbox named "${spec.name}" exists`, { name: spec.name });
    }
    if (nameKey !== undefined) this.#reserved.add(nameKey);
    try {
      return await this.#create(spec, owner, driver);
    } finally {
      if (nameKey !== undefined) this.#reserved.delete(nameKey);
    }
  }

  async #create(spec: SandboxSpec, owner: string, driver: SandboxDriver): Promise<Sandbox> {
    const id = newId('sbx', this.clock.now());
    const now = this.clock.now();
    const meta: Meta = {
      id,
      name: spec.name ?? null,
      owner,
      driver: driver.name,
      spec,
      createdAt: now,
      lastUsedAt: now,
      snapshots: [],
    };
    const sandbox =
      spec.kind === 'persistent'
        ? await this.#createPersistent(meta, driver)
        : await this.#createEphemeral(meta, driver);
    this.#sandboxes.set(id, sandbox);
    try {
      await sandbox.prepare();
    } catch (error) {
      this.health.startFailed(error);
      await sandbox.destroy().catch(() => undefined);
      throw error;
    }
    return sandbox;
  }

  async #createPersistent(meta: Meta, driver: SandboxDriver): Promise<HostSandbox> {
    const dir = join(this.#root, 'persistent', meta.id);
    await mkdir(join(dir, 'workspace'), { recursive: true, mode: 0o700 });
    const sandbox = new HostSandbox({ manager: this, meta, driver, dir, workspace: join(dir, 'workspace') });
    await sandbox.persist();
    return sandbox;
  }

  async #createEphemeral(meta: Meta, driver: SandboxDriver): Promise<HostSandbox> {
    const size = meta.spec.limits.workspaceBytes;
    if (this.#pool) {
      try {
        const workspace = await this.#pool.take(size);
        return new HostSandbox({ manager: this, meta, driver, workspace, tmpfs: true });
      } catch (error) {
        this.logger.warn(
          { err: (error as Error).message },
          'tmpfs mount failed; ephemeral workspace is a directory',
        );
      }
    }
    const dir = join(this.#runDir, meta.id);
    await mkdir(join(dir, 'workspace'), { recursive: true, mode: 0o700 });
    return new HostSandbox({ manager: this, meta, driver, dir, workspace: join(dir, 'workspace') });
  }

  /** Returns an ephemeral tmpfs workspace, emptied now. */
  async releaseWorkspace(dir: string, size: number): Promise<void> {
    if (this.#pool) await this.#pool.give(dir, size);
  }

  #find(owner: string, idOrName: string): HostSandbox | undefined {
    const byId = this.#sandboxes.get(idOrName);
    if (byId) return byId.owner === owner ? byId : undefined;
    for (const sandbox of this.#sandboxes.values()) {
      if (sandbox.owner === owner && sandbox.info().name === idOrName) return sandbox;
    }
    return undefined;
  }

  /** A sandbox by id or name; E_NOT_FOUND when absent or another owner's. */
  get(idOrName: string, owner = ''): Sandbox {
    const sandbox = this.#find(owner, idOrName);
    if (!sandbox) throw new StrataError('E_NOT_FOUND', `no sandbox ${idOrName}`, { sandbox: idOrName });
    return sandbox;
  }

  /** The owner's sandboxes; `null` lists every owner's (for the host, e.g. the provisioner's reaper). */
  list(owner: string | null = ''): SandboxInfo[] {
    return [...this.#sandboxes.values()]
      .filter((sandbox) => owner === null || sandbox.owner === owner)
      .map((sandbox) => sandbox.info())
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Whether a snapshot was taken by one of the owner's sandboxes (snapshots are not shared). */
  ownsSnapshot(owner: string, id: string): boolean {
    for (const sandbox of this.#sandboxes.values()) {
      if (sandbox.owner === owner && sandbox.info().snapshots.some((s) => s.id === id)) return true;
    }
    return false;
  }

  forget(id: string): void {
    this.#sandboxes.delete(id);
  }

  /** Destroys ephemeral sandboxes; persistent ones stop (their state stays on disk). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#sandboxes.values()];
    await Promise.all(
      all.map((sandbox) => (sandbox.kind === 'ephemeral' ? sandbox.destroy() : sandbox.suspend())),
    );
    await this.#pool?.close();
    await this.#unmountUnder(this.#runDir);
    await rm(this.#runDir, { recursive: true, force: true }).catch((error: unknown) =>
      this.logger.warn({ dir: this.#runDir, err: (error as Error).message }, 'run directory not removed'),
    );
    for (const driver of this.#drivers.values()) await driver.close?.();
  }

  async #loadPersistent(): Promise<void> {
    const base = join(this.#root, 'persistent');
    for (const id of await readdir(base)) {
      const file = join(base, id, 'sandbox.json');
      if (!existsSync(file)) continue;
      try {
        const meta = JSON.parse(await readFile(file, 'utf8')) as Meta;
        const driver = this.#drivers.get(meta.driver);
        if (!driver) {
          this.logger.warn(
            { sandbox: id, driver: meta.driver },
            'persistent sandbox needs an unregistered driver',
          );
          continue;
        }
        const dir = join(base, id);
        const sandbox = new HostSandbox({
          manager: this,
          meta,
          driver,
          dir,
          workspace: join(dir, 'workspace'),
        });
        this.#sandboxes.set(id, sandbox);
      } catch (error) {
        this.logger.warn(
          { sandbox: id, err: (error as Error).message },
          'unreadable persistent sandbox skipped',
        );
      }
    }
  }

  /** Unmounts any workspace mount two levels under `dir` (`<id>/workspace`, `pool/<n>`). */
  async #unmountUnder(dir: string): Promise<void> {
    for (const id of await readdir(dir).catch(() => [])) {
      for (const sub of await readdir(join(dir, id)).catch(() => [])) {
        const path = join(dir, id, sub);
        while (await isMountPoint(path).catch(() => false)) {
          await unmount(path).catch(() => undefined);
          if (await isMountPoint(path).catch(() => false)) break;
        }
      }
    }
  }

  async #sweepDeadRunDirs(): Promise<void> {
    const parent = join(this.#runDir, '..');
    for (const name of await readdir(parent).catch(() => [])) {
      const pid = Number(name.split('-')[0]);
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
      try {
        process.kill(pid, 0);
        continue; // alive
      } catch {
        // dead: its workspaces are orphans
      }
      const dir = join(parent, name);
      await this.#unmountUnder(dir);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
