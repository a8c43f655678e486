/**
 * @module compute/drivers/bubblewrap/cgroups
 * Per-sandbox control groups for memory, process count and freezing, on cgroup v2 when its
 * hierarchy is writable here, else on the v1 controllers (`memory`, `pids`, `freezer`) when those
 * are, else none — the driver then falls back to rlimits. A process joins by writing its own pid
 * to `cgroup.procs` before it execs bubblewrap, so nothing it forks escapes the group.
 *
 * Counters tell which limit ended an exec: `oom_kill` (memory) and the `max` event count (pids).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type CgroupMode = 'v2' | 'v1' | 'none';

const ROOT = '/sys/fs/cgroup';
const GROUP = 'strata';

export interface CgroupCounters {
  readonly oomKills: number;
  readonly pidsMax: number;
}

export interface CgroupLimits {
  readonly memoryBytes: number;
  readonly pids: number;
}

function field(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

async function tryWrite(file: string, value: string): Promise<boolean> {
  try {
    await writeFile(file, value);
    return true;
  } catch {
    return false;
  }
}

/** Finds which cgroup hierarchy this process may manage; creates the `strata` parent groups. */
export async function detectCgroups(): Promise<CgroupMode> {
  if (process.platform !== 'linux') return 'none';
  if (existsSync(join(ROOT, 'cgroup.controllers'))) {
    const controllers = await readFile(join(ROOT, 'cgroup.controllers'), 'utf8').catch(() => '');
    if (/\bmemory\b/.test(controllers) && /\bpids\b/.test(controllers)) {
      const parent = join(ROOT, GROUP);
      await mkdir(parent, { recursive: true }).catch(() => undefined);
      await tryWrite(join(ROOT, 'cgroup.subtree_control'), '+memory +pids');
      if (await tryWrite(join(parent, 'cgroup.subtree_control'), '+memory +pids')) return 'v2';
    }
    return 'none';
  }
  for (const controller of ['memory', 'pids', 'freezer']) {
    const parent = join(ROOT, controller, GROUP);
    try {
      await mkdir(parent, { recursive: true });
    } catch {
      return 'none';
    }
    if (!existsSync(join(parent, 'cgroup.procs'))) return 'none';
  }
  return 'v1';
}

/** One sandbox's control group(s). */
export class Cgroup {
  readonly mode: Exclude<CgroupMode, 'none'>;
  readonly #dirs: readonly string[];
  readonly #id: string;

  private constructor(mode: Exclude<CgroupMode, 'none'>, id: string) {
    this.mode = mode;
    this.#id = id;
    this.#dirs =
      mode === 'v2'
        ? [join(ROOT, GROUP, id)]
        : ['memory', 'pids', 'freezer'].map((controller) => join(ROOT, controller, GROUP, id));
  }

  static async create(mode: Exclude<CgroupMode, 'none'>, id: string, limits: CgroupLimits): Promise<Cgroup> {
    const group = new Cgroup(mode, id);
    for (const dir of group.#dirs) await mkdir(dir, { recursive: true });
    if (mode === 'v2') {
      const [dir] = group.#dirs as [string];
      await writeFile(join(dir, 'memory.max'), String(limits.memoryBytes));
      await tryWrite(join(dir, 'memory.swap.max'), '0');
      await writeFile(join(dir, 'pids.max'), String(limits.pids));
    } else {
      const [memory, pids] = group.#dirs as [string, string, string];
      await writeFile(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // Without swap accounting this file is absent; with it, swap must not extend the limit.
      await tryWrite(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      await writeFile(join(pids, 'pids.max'), String(limits.pids));
    }
    return group;
  }

  /** The `cgroup.procs` files a process writes its pid to, to join. */
  get procsFiles(): readonly string[] {
    return this.#dirs.map((dir) => join(dir, 'cgroup.procs'));
  }

  async counters(): Promise<CgroupCounters> {
    if (this.mode === 'v2') {
      const [dir] = this.#dirs as [string];
      const memory = await readFile(join(dir, 'memory.events'), 'utf8').catch(() => '');
      const pids = await readFile(join(dir, 'pids.events'), 'utf8').catch(() => '');
      return { oomKills: field(memory, 'oom_kill'), pidsMax: field(pids, 'max') };
    }
    const [memoryDir, pidsDir] = this.#dirs as [string, string, string];
    const memory = await readFile(join(memoryDir, 'memory.oom_control'), 'utf8').catch(() => '');
    const pids = await readFile(join(pidsDir, 'pids.events'), 'utf8').catch(() => '');
    return { oomKills: field(memory, 'oom_kill'), pidsMax: field(pids, 'max') };
  }

  async freeze(frozen: boolean): Promise<void> {
    if (this.mode === 'v2') {
      await writeFile(join(this.#dirs[0] as string, 'cgroup.freeze'), frozen ? '1' : '0');
      return;
    }
    await writeFile(join(this.#dirs[2] as string, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED');
  }

  /** Pids of every process in the group. */
  async pids(): Promise<number[]> {
    const text = await readFile(this.procsFiles[this.mode === 'v2' ? 0 : 1] as string, 'utf8').catch(
      () => '',
    );
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => Number(line));
  }

  /** Kills everything left in the group (frozen first, so a fork bomb cannot outrun it). */
  async killAll(): Promise<void> {
    await this.freeze(true).catch(() => undefined);
    for (const pid of await this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await this.freeze(false).catch(() => undefined);
  }

  async remove(): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      if ((await this.pids()).length > 0) await this.killAll();
      const results = await Promise.all(
        this.#dirs.map((dir) =>
          rmdir(dir).then(
            () => true,
            (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
          ),
        ),
      );
      if (results.every(Boolean)) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`cgroup ${this.#id} could not be removed`);
  }
}
