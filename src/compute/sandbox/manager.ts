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
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { systemClock, type Clock } from '../../kernel/clock.ts';
import { StrataError } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { silentLogger, type Logger } from '../../kernel/logger.ts';
import { parseSpec } from './spec.ts';
import type {
  ExecOptions,
  ExecResult,
  Sandbox,
  SandboxDriver,
  SandboxInfo,
  SandboxRunner,
  SandboxSpec,
  SandboxState,
  SnapshotRef,
} from './types.ts';
import { isMountPoint, TmpfsPool, unmount } from './tmpfs-pool.ts';
import { normalizeRelative, SnapshotStore, usedBytes, WORKSPACE, WorkspaceFiles } from './workspace.ts';

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
}

interface Meta {
  id: string;
  name: string | null;
  owner: string;
  driver: string;
  spec: SandboxSpec;
  createdAt: number;
  lastUsedAt: number;
  snapshots: SnapshotRef[];
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
    await driver.check();
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

interface HostSandboxOptions {
  readonly manager: SandboxManager;
  readonly meta: Meta;
  readonly driver: SandboxDriver;
  /** The sandbox's own directory (meta, or a plain workspace); removed on destroy. */
  readonly dir?: string;
  readonly workspace: string;
  readonly tmpfs?: boolean;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

class HostSandbox implements Sandbox {
  readonly id: string;
  readonly kind: Sandbox['kind'];
  readonly spec: SandboxSpec;
  readonly owner: string;
  readonly files: WorkspaceFiles;
  readonly #o: HostSandboxOptions;
  readonly #meta: Meta;
  #runner: Promise<SandboxRunner> | undefined;
  #state: SandboxState;
  #running = 0;
  #frozen = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #busy: Promise<unknown> = Promise.resolve();

  constructor(options: HostSandboxOptions) {
    this.#o = options;
    this.#meta = options.meta;
    this.id = options.meta.id;
    this.kind = options.meta.spec.kind;
    this.spec = options.meta.spec;
    this.owner = options.meta.owner;
    this.#state = this.kind === 'persistent' ? 'paused' : 'idle';
    this.files = new WorkspaceFiles({
      root: options.workspace,
      // tmpfs enforces its size itself; a directory needs the check.
      softLimitBytes: options.tmpfs ? undefined : options.meta.spec.limits.workspaceBytes,
    });
  }

  state(): SandboxState {
    return this.#state;
  }

  info(): SandboxInfo {
    const m = this.#meta;
    return {
      id: m.id,
      name: m.name,
      owner: m.owner,
      kind: m.spec.kind,
      driver: m.driver,
      state: this.#state,
      spec: m.spec,
      createdAt: m.createdAt,
      lastUsedAt: m.lastUsedAt,
      snapshots: [...m.snapshots],
    };
  }

  async persist(): Promise<void> {
    if (this.kind !== 'persistent' || this.#state === 'destroyed' || this.#o.dir === undefined) return;
    const file = join(this.#o.dir, 'sandbox.json');
    const temp = `${file}.tmp`;
    await writeFile(temp, JSON.stringify(this.#meta, null, 2), { mode: 0o600 });
    await rename(temp, file);
  }

  /** Sets up the driver's side (cgroups, proxy) now, so the first exec is not slower. */
  async prepare(): Promise<void> {
    await this.#ensureRunner();
    if (this.kind === 'persistent') this.#state = 'idle';
  }

  #ensureRunner(): Promise<SandboxRunner> {
    if (!this.#runner) {
      const pending = this.#o.driver.prepare({
        id: this.id,
        spec: this.spec,
        workspaceDir: this.#o.workspace,
        runDir: join(this.#o.manager.runDir, `${this.id}.run`),
      });
      this.#runner = pending;
      pending.catch(() => {
        if (this.#runner === pending) this.#runner = undefined;
      });
    }
    return this.#runner;
  }

  #alive(): void {
    if (this.#state === 'destroyed') {
      throw new StrataError('E_NOT_FOUND', `sandbox ${this.id} was destroyed`, { sandbox: this.id });
    }
  }

  async exec(command: string | readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.#alive();
    const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
    if (argv.length === 0 || argv.some((arg) => typeof arg !== 'string' || arg.includes('\0'))) {
      throw new StrataError(
        'E_INVALID_INPUT',
        'command must be a non-empty string or argv without NUL bytes',
      );
    }
    if (options.timeoutMs !== undefined && !(Number.isInteger(options.timeoutMs) && options.timeoutMs > 0)) {
      throw new StrataError('E_INVALID_INPUT', 'timeoutMs must be a positive integer', {
        issues: [{ path: 'timeoutMs', message: 'must be a positive integer' }],
      });
    }
    const env = { ...this.spec.env, ...options.env };
    for (const key of Object.keys(env)) {
      if (!ENV_KEY.test(key)) {
        throw new StrataError('E_INVALID_INPUT', `bad environment variable name "${key}"`, {
          issues: [{ path: `env.${key}`, message: 'not a valid environment variable name' }],
        });
      }
    }
    const rel = normalizeRelative(options.cwd ?? '');
    const hostCwd = rel === '' ? this.#o.workspace : join(this.#o.workspace, rel);
    const cwdInfo = await stat(hostCwd).catch(() => undefined);
    if (!cwdInfo?.isDirectory()) {
      throw new StrataError('E_NOT_FOUND', `no directory ${options.cwd ?? ''} in the workspace`, {
        cwd: options.cwd,
      });
    }
    if (this.#state === 'paused') await this.resume();
    clearTimeout(this.#idleTimer);
    this.#running++;
    this.#state = 'running';
    try {
      const runner = await this.#ensureRunner();
      this.#alive();
      const result = await runner.run({
        argv,
        cwd: this.#o.driver.isolated ? (rel === '' ? WORKSPACE : `${WORKSPACE}/${rel}`) : hostCwd,
        env,
        stdin: options.stdin,
        wallTimeMs: Math.min(this.spec.limits.wallTimeMs, options.timeoutMs ?? Infinity),
        onStdout: options.onStdout,
        onStderr: options.onStderr,
        signal: options.signal,
      });
      if (this.kind === 'persistent' || !this.#o.tmpfs) {
        const used = await usedBytes(this.#o.workspace);
        if (used > this.spec.limits.workspaceBytes) {
          return { ...result, exceeded: [...result.exceeded, 'workspace'] };
        }
      }
      return result;
    } finally {
      this.#running--;
      if (this.#state === 'running' && this.#running === 0) this.#state = 'idle';
      this.#meta.lastUsedAt = this.#o.manager.clock.now();
      if ((this.#state as SandboxState) !== 'destroyed') {
        await this.persist().catch(() => undefined);
        this.#scheduleIdle();
      }
    }
  }

  #scheduleIdle(): void {
    if (this.kind !== 'persistent' || this.#running > 0) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (this.#state === 'idle' && this.#running === 0) void this.suspend();
    }, this.spec.idleTimeoutMs);
    this.#idleTimer.unref();
  }

  /** Pauses an idle sandbox by releasing its driver resources: no processes, no cgroup, no proxy. */
  async suspend(): Promise<void> {
    clearTimeout(this.#idleTimer);
    if (this.#state === 'destroyed') return;
    const runner = this.#runner;
    this.#runner = undefined;
    if (this.#running === 0) this.#state = 'paused';
    if (runner) await (await runner.catch(() => undefined))?.dispose();
  }

  async snapshot(): Promise<SnapshotRef> {
    this.#alive();
    const tarball = await this.files.download('');
    const ref = await this.#o.manager.snapshots.put(tarball, this.#o.manager.clock.now());
    if (!this.#meta.snapshots.some((s) => s.id === ref.id)) this.#meta.snapshots.push(ref);
    await this.persist();
    return ref;
  }

  async restore(snapshot: string | SnapshotRef): Promise<void> {
    this.#alive();
    const id = typeof snapshot === 'string' ? snapshot : snapshot.id;
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new StrataError('E_INVALID_INPUT', 'a snapshot id is 64 hex digits', { snapshot: id });
    }
    if (!this.#o.manager.ownsSnapshot(this.owner, id)) {
      throw new StrataError('E_NOT_FOUND', `no snapshot ${id}`, { snapshot: id });
    }
    if (this.#running > 0) {
      throw new StrataError('E_CONFLICT', 'cannot restore while commands run in the sandbox', {
        sandbox: this.id,
      });
    }
    const tarball = await this.#o.manager.snapshots.get(id);
    await this.files.clear();
    await this.files.upload(tarball);
    if (!this.#meta.snapshots.some((s) => s.id === id)) {
      this.#meta.snapshots.push({ id, bytes: tarball.length, createdAt: this.#o.manager.clock.now() });
    }
    await this.persist();
  }

  async pause(): Promise<void> {
    this.#alive();
    if (this.#state === 'paused') return;
    if (this.#running > 0 && this.#runner) {
      await (await this.#runner).freeze(true);
      this.#frozen = true;
      this.#state = 'paused';
      return;
    }
    await this.suspend();
  }

  async resume(): Promise<void> {
    this.#alive();
    if (this.#state !== 'paused') return;
    if (this.#frozen && this.#runner) {
      await (await this.#runner).freeze(false);
      this.#frozen = false;
    }
    this.#state = this.#running > 0 ? 'running' : 'idle';
    if (this.#running === 0) this.#scheduleIdle();
  }

  async destroy(): Promise<void> {
    if (this.#state === 'destroyed') return;
    this.#busy = this.#busy.then(() => this.#destroy());
    await this.#busy;
  }

  async #destroy(): Promise<void> {
    if (this.#state === 'destroyed') return;
    this.#state = 'destroyed';
    clearTimeout(this.#idleTimer);
    this.#o.manager.forget(this.id);
    const runner = this.#runner;
    this.#runner = undefined;
    if (runner) {
      const ready = await runner.catch(() => undefined);
      if (this.#frozen) await ready?.freeze(false).catch(() => undefined);
      await ready?.dispose();
    }
    if (this.#o.tmpfs)
      await this.#o.manager.releaseWorkspace(this.#o.workspace, this.spec.limits.workspaceBytes);
    if (this.#o.dir !== undefined) await rm(this.#o.dir, { recursive: true, force: true });
    await rm(join(this.#o.manager.runDir, `${this.id}.run`), { recursive: true, force: true });
  }
}
