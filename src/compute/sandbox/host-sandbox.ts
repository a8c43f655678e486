/**
 * @module compute/sandbox/host-sandbox
 * One sandbox as its manager keeps it: its state (idle, running, paused, suspended), the runner its
 * driver started (lazily, on first exec), exec bookkeeping and the idle timer, snapshots and
 * restores through the manager's snapshot store, and destroy. The manager (manager.ts) owns the
 * registry, workspaces and persistence across processes.
 */
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../../kernel/errors.ts';
import type { SandboxManager } from './manager.ts';
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
import { normalizeRelative, usedBytes, WORKSPACE, WorkspaceFiles } from './workspace.ts';

/** What a sandbox's `sandbox.json` holds (persistent sandboxes), and what any sandbox is made from. */
export interface Meta {
  id: string;
  name: string | null;
  owner: string;
  driver: string;
  spec: SandboxSpec;
  createdAt: number;
  lastUsedAt: number;
  snapshots: SnapshotRef[];
}

export interface HostSandboxOptions {
  readonly manager: SandboxManager;
  readonly meta: Meta;
  readonly driver: SandboxDriver;
  /** The sandbox's own directory (meta, or a plain workspace); removed on destroy. */
  readonly dir?: string;
  readonly workspace: string;
  readonly tmpfs?: boolean;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class HostSandbox implements Sandbox {
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
      this.#o.manager.health.finished(result);
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
