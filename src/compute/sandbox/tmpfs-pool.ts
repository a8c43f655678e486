/**
 * @module compute/sandbox/tmpfs-pool
 * Size-limited tmpfs mounts for ephemeral workspaces, kept warm. Mounting needs the `mount`
 * program (Node has no mount(2)), a process start that would double a sandbox's cold start, so a
 * few mounts per size are made ahead of time, off the request path. A destroyed workspace is
 * emptied at once — its files are gone when `destroy()` returns — and its mount goes back to the
 * pool (or is unmounted when the pool holds twice its target).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function isMountPoint(dir: string): Promise<boolean> {
  const [self, parent] = await Promise.all([stat(dir).catch(() => undefined), stat(join(dir, '..'))]);
  return self !== undefined && self.dev !== parent.dev;
}

export async function unmount(dir: string): Promise<void> {
  if (await isMountPoint(dir)) await run('umount', [dir]);
}

export class TmpfsPool {
  readonly #dir: string;
  readonly #target: number;
  readonly #free = new Map<number, string[]>();
  readonly #filling = new Map<number, Promise<void>>();
  #seq = 0;
  #closed = false;

  constructor(options: { dir: string; target?: number }) {
    this.#dir = options.dir;
    this.#target = options.target ?? 4;
  }

  async #mount(size: number): Promise<string> {
    const dir = join(this.#dir, String(++this.#seq));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755,nosuid,nodev`, 'strata-workspace', dir]);
    return dir;
  }

  /**
   * Tops the pool up for `size` in the background, once it is below half its target: a
   * create-destroy cycle takes a mount and gives it back without any mount or umount.
   */
  warm(size: number): void {
    if (this.#closed || this.#filling.has(size)) return;
    if ((this.#free.get(size)?.length ?? 0) >= Math.ceil(this.#target / 2)) return;
    const fill = (async () => {
      const free = this.#free.get(size) ?? [];
      this.#free.set(size, free);
      while (!this.#closed && free.length < this.#target) free.push(await this.#mount(size));
    })()
      .catch(() => undefined)
      .finally(() => this.#filling.delete(size));
    this.#filling.set(size, fill);
  }

  /** An empty tmpfs of `size` bytes; throws when mounting is not permitted. */
  async take(size: number): Promise<string> {
    const dir = this.#free.get(size)?.pop();
    this.warm(size);
    return dir ?? this.#mount(size);
  }

  /** Empties a workspace now, then keeps its mount for reuse or unmounts it. */
  async give(dir: string, size: number): Promise<void> {
    for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
    await chmod(dir, 0o755);
    const free = this.#free.get(size) ?? [];
    if (!this.#closed && free.length < this.#target * 2) {
      free.push(dir);
      this.#free.set(size, free);
      return;
    }
    await unmount(dir);
    await rm(dir, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#filling.values());
    const all = [...this.#free.values()].flat();
    this.#free.clear();
    for (const dir of all) await unmount(dir).catch(() => undefined);
  }
}
