/**
 * @module compute/sandbox/workspace
 * File access to a sandbox's workspace from the host, confined to it. A path is relative to the
 * workspace (or absolute under `/workspace`); `..` that climbs out, NUL bytes and any other
 * absolute path are `E_INVALID_INPUT`. Code in the sandbox can plant symlinks, so every access
 * resolves the real path and refuses one that lands outside the workspace (`E_CAPABILITY_DENIED`).
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
import {
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, posix, relative, sep } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StrataError } from '../../kernel/errors.ts';
import type { FileEntry, SnapshotRef } from './types.ts';

export const WORKSPACE = '/workspace';

/** The workspace-relative form of a caller's path ('' for the root). */
export function normalizeRelative(path: string): string {
  if (typeof path !== 'string' || path.includes('\0')) {
    throw new StrataError('E_INVALID_INPUT', 'path must be a string without NUL bytes', {
      path: String(path),
    });
  }
  let rel = path.replaceAll('\\', '/');
  if (rel === WORKSPACE || rel.startsWith(`${WORKSPACE}/`)) rel = rel.slice(WORKSPACE.length);
  else if (rel.startsWith('/')) {
    throw new StrataError(
      'E_INVALID_INPUT',
      `path "${path}" is outside the workspace (use a relative path)`,
      {
        path,
      },
    );
  }
  const normal = posix.normalize(`./${rel}`).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) {
    throw new StrataError('E_INVALID_INPUT', `path "${path}" escapes the workspace`, { path });
  }
  return normal === '.' || normal === '' ? '' : normal;
}

function inside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root + sep);
}

function fsError(error: unknown, path: string): never {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT')
    throw new StrataError('E_NOT_FOUND', `no such file in the workspace: ${path}`, { path });
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG') {
    throw new StrataError('E_QUOTA_EXCEEDED', `the workspace is full writing ${path}`, { path });
  }
  if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
    throw new StrataError('E_CONFLICT', `${code} on ${path}`, { path, errno: code });
  }
  throw error;
}

/** Bytes used under a directory (apparent sizes; symlinks not followed). */
export async function usedBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) total += (await lstat(full).catch(() => ({ size: 0 }))).size;
    }
  };
  await walk(dir);
  return total;
}

export interface WorkspaceFilesOptions {
  readonly root: string;
  /** Enforced on writes and uploads when the filesystem itself does not (a directory on disk). */
  readonly softLimitBytes?: number;
}

export class WorkspaceFiles {
  readonly root: string;
  readonly #softLimit: number | undefined;
  #realRoot: string | undefined;

  constructor(options: WorkspaceFilesOptions) {
    this.root = options.root;
    this.#softLimit = options.softLimitBytes;
  }

  async #real(): Promise<string> {
    return (this.#realRoot ??= await realpath(this.root));
  }

  /** The host path of a workspace path, its parent's real path checked to stay inside. */
  async #resolve(path: string, { follow }: { follow: boolean }): Promise<string> {
    const rel = normalizeRelative(path);
    const root = await this.#real();
    if (rel === '') return root;
    const host = join(root, rel);
    const parentReal = await realpath(dirname(host)).catch(() => undefined);
    if (parentReal !== undefined && !inside(root, parentReal)) {
      throw new StrataError('E_CAPABILITY_DENIED', `path "${path}" resolves outside the workspace`, { path });
    }
    if (follow) {
      const real = await realpath(host).catch(() => undefined);
      if (real !== undefined && !inside(root, real)) {
        throw new StrataError('E_CAPABILITY_DENIED', `path "${path}" resolves outside the workspace`, {
          path,
        });
      }
      if (real === undefined) {
        // A dangling symlink would be followed on write: refuse it.
        const link = await lstat(host).catch(() => undefined);
        if (link?.isSymbolicLink()) {
          throw new StrataError('E_CAPABILITY_DENIED', `path "${path}" is a dangling symlink`, { path });
        }
      }
    }
    return host;
  }

  async read(path: string): Promise<Buffer> {
    const host = await this.#resolve(path, { follow: true });
    try {
      const handle = await open(host, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
      try {
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    } catch (error) {
      return fsError(error, path);
    }
  }

  async write(path: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
    if (normalizeRelative(path) === '')
      throw new StrataError('E_INVALID_INPUT', 'cannot write the root', { path });
    const host = await this.#resolve(path, { follow: true });
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    await this.#checkRoom(bytes);
    try {
      await mkdir(dirname(host), { recursive: true });
      // Re-check after mkdir: a component created concurrently must not be a symlink out.
      await this.#resolve(path, { follow: true });
      const handle = await open(
        host,
        fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW,
        options.mode ?? 0o644,
      );
      try {
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
    } catch (error) {
      return fsError(error, path);
    }
  }

  async mkdir(path: string): Promise<void> {
    const host = await this.#resolve(path, { follow: true });
    await mkdir(host, { recursive: true }).catch((error: unknown) => fsError(error, path));
  }

  async list(path = '', options: { recursive?: boolean } = {}): Promise<FileEntry[]> {
    const host = await this.#resolve(path, { follow: true });
    const base = normalizeRelative(path);
    const out: FileEntry[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      const names = (await readdir(dir).catch((error: unknown) => fsError(error, path))).sort();
      for (const name of names) {
        const full = join(dir, name);
        const info = await lstat(full).catch(() => undefined);
        if (!info) continue;
        const entryPath = rel === '' ? name : `${rel}/${name}`;
        const type = info.isFile()
          ? 'file'
          : info.isDirectory()
            ? 'dir'
            : info.isSymbolicLink()
              ? 'symlink'
              : 'other';
        out.push({ path: entryPath, type, size: info.size, mode: info.mode & 0o7777, mtimeMs: info.mtimeMs });
        if (options.recursive && type === 'dir') await walk(full, entryPath);
      }
    };
    const info = await stat(host).catch((error: unknown) => fsError(error, path));
    if (!info.isDirectory()) {
      throw new StrataError('E_CONFLICT', `not a directory: ${path}`, { path });
    }
    await walk(host, base);
    return out;
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const rel = normalizeRelative(path);
    if (rel === '') throw new StrataError('E_INVALID_INPUT', 'cannot remove the workspace root', { path });
    const host = await this.#resolve(path, { follow: false });
    const info = await lstat(host).catch((error: unknown) => fsError(error, path));
    if (info.isDirectory() && !options.recursive) {
      throw new StrataError('E_CONFLICT', `${path} is a directory (pass recursive)`, { path });
    }
    await rm(host, { recursive: options.recursive === true, force: false }).catch((error: unknown) =>
      fsError(error, path),
    );
  }

  /** Removes everything in the workspace, keeping the root (a mount point for tmpfs workspaces). */
  async clear(): Promise<void> {
    const root = await this.#real();
    for (const name of await readdir(root)) await rm(join(root, name), { recursive: true, force: true });
  }

  async upload(source: Uint8Array | Readable, dest = ''): Promise<void> {
    const host = await this.#resolve(dest, { follow: true });
    await mkdir(host, { recursive: true }).catch((error: unknown) => fsError(error, dest));
    const root = await this.#real();
    const input = source instanceof Readable ? source : Readable.from([Buffer.from(source)]);
    const limit = this.#softLimit;
    let budget = limit === undefined ? Infinity : limit - (await usedBytes(root));
    const problems: string[] = [];
    // tar is loaded by the first upload or download, not with the compute layer every CLI command
    // and worker process opens.
    const tar = await import('tar');
    try {
      await pipeline(
        input,
        tar.x({
          cwd: host,
          strict: true,
          preserveOwner: false,
          noChmod: false,
          filter: (entryPath, entry) => {
            const size = 'size' in entry ? entry.size : 0;
            budget -= size;
            if (budget < 0) {
              problems.push(entryPath);
              return false;
            }
            return true;
          },
          onwarn: (_code, message) => problems.push(String(message)),
        }),
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') fsError(error, dest);
      throw new StrataError('E_INVALID_INPUT', `not a valid tar archive: ${(error as Error).message}`, {
        dest,
      });
    }
    if (budget < 0) {
      throw new StrataError('E_QUOTA_EXCEEDED', 'the archive does not fit in the workspace size limit', {
        dest,
        skipped: problems.slice(0, 20),
      });
    }
  }

  async download(path = ''): Promise<Buffer> {
    const rel = normalizeRelative(path);
    const root = await this.#real();
    await this.#resolve(path, { follow: true });
    await lstat(rel === '' ? root : join(root, rel)).catch((error: unknown) => fsError(error, path));
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    const tar = await import('tar');
    await pipeline(
      tar.c({ cwd: root, gzip: true, portable: true, follow: false }, [rel === '' ? '.' : rel]),
      sink,
    );
    return Buffer.concat(chunks);
  }

  async #checkRoom(bytes: number): Promise<void> {
    if (this.#softLimit === undefined) return;
    const used = await usedBytes(await this.#real());
    if (used + bytes > this.#softLimit) {
      throw new StrataError(
        'E_QUOTA_EXCEEDED',
        `the workspace limit of ${this.#softLimit} bytes would be exceeded`,
        {
          usedBytes: used,
          limitBytes: this.#softLimit,
        },
      );
    }
  }
}

const SNAPSHOT_ID = /^[0-9a-f]{64}$/;

/** Tarballs stored by their SHA-256: the same content is stored once. */
export class SnapshotStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async put(tarball: Buffer, now: number): Promise<SnapshotRef> {
    const id = createHash('sha256').update(tarball).digest('hex');
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${id}.tar.gz`);
    const exists = await stat(file).catch(() => undefined);
    if (!exists) {
      const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(temp, tarball, { mode: 0o600 });
      await rename(temp, file);
    }
    return { id, bytes: tarball.length, createdAt: now };
  }

  async get(id: string): Promise<Buffer> {
    if (!SNAPSHOT_ID.test(id))
      throw new StrataError('E_INVALID_INPUT', 'a snapshot id is 64 hex digits', { id });
    const data = await readFile(join(this.dir, `${id}.tar.gz`)).catch(() => {
      throw new StrataError('E_NOT_FOUND', `no snapshot ${id}`, { id });
    });
    if (createHash('sha256').update(data).digest('hex') !== id) {
      throw new StrataError('E_INTERNAL', `snapshot ${id} is corrupt (hash mismatch)`, { id });
    }
    return data;
  }

  stream(id: string): Readable {
    return createReadStream(join(this.dir, `${id}.tar.gz`));
  }
}

export function relativeInside(root: string, path: string): string {
  return relative(root, path);
}
