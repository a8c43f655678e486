/**
 * @module provisioning/resources/drivers/sqlite
 * The `sqlite` resource: a database file per resource at `<dir>/<tenantId>/<id>.db`, copied from a
 * template (`<dir>/.template.db`: WAL mode, a `strata_meta` table) made once on first use.
 *
 * Design
 * - **Crash-safe create**: the template is copied to a dot-named temp file, then hard-linked to
 *   the final name (atomic, and it never overwrites a database that already exists), so a crash
 *   never leaves a half-copied file under the final name. A leftover temp file is reported by
 *   `listOwned` (so the reaper finds it) and removed by the next `create` or `destroy`. Nothing is
 *   fsynced: a process crash cannot tear the copy, and after a power loss an empty file is still a
 *   valid (empty) SQLite database.
 * - **Create again** for an id whose file exists keeps the file (and its data).
 * - **Suspend** has no compute to stop: the file becomes read-only (0400) and writable again (0600)
 *   on resume (with its -wal and -shm), so new connections by the owning user can read but not
 *   write. Connections opened before keep their file descriptors, and root ignores file modes.
 * - No credentials: the path is the whole connection detail, so `secrets` is empty and
 *   `rotateCredentials` returns `{}`.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { chmod, copyFile, link, mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { isStrataError, StrataError } from '../../../kernel/errors.ts';
import type { Provisioned, ResourceDriver, ResourceRef } from '../types.ts';

export interface SqliteResourceDriverOptions {
  /** Directory of the tenants' database files and the template. Created when missing. */
  readonly dir: string;
}

/** Ids and tenant ids become path segments: no dots, slashes or anything a shell would mind. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const FILE = /^([A-Za-z0-9][A-Za-z0-9_-]{0,127})\.db$/;
const TEMP = /^\.([A-Za-z0-9][A-Za-z0-9_-]{0,127})\.db\.[0-9a-f]+\.tmp$/;
const WRITABLE = 0o600;
const READ_ONLY = 0o400;

/** SQLite database files as resources. */
export class SqliteResourceDriver implements ResourceDriver {
  readonly kind = 'sqlite';
  readonly description = 'A SQLite database file (WAL mode) per resource, copied from a template.';
  readonly configSchema = z.object({}).strict();
  readonly meters = { readySeconds: 'sqlite.ready_seconds', provisions: 'sqlite.provisions' };
  readonly #dir: string;
  #template: Promise<string> | undefined;

  constructor(options: SqliteResourceDriverOptions) {
    this.#dir = resolve(options.dir);
  }

  async create(ref: ResourceRef): Promise<Provisioned> {
    const path = this.#pathOf(ref);
    try {
      if (!(await exists(path))) {
        const template = await this.#ensureTemplate();
        const tenantDir = join(this.#dir, ref.tenantId);
        // The destroy of the tenant's last database removes its folder, which can fall between the
        // mkdir and the copy (50 agents making and dropping scratch databases did): make it again.
        // (mkdir itself can fail so: it finds the folder, then fails to stat it once it is gone.)
        for (let attempt = 1; ; attempt++) {
          try {
            await mkdir(tenantDir, { recursive: true, mode: 0o700 });
            await copyInto(template, tenantDir, ref.id, path);
            break;
          } catch (error) {
            if (codeOf(error) !== 'ENOENT' || attempt === 5 || !(await exists(template))) throw error;
          }
        }
      }
    } catch (error) {
      throw failure(error, 'create', path);
    }
    return { handle: { path }, env: { SQLITE_PATH: path }, secrets: {} };
  }

  async suspend(ref: ResourceRef): Promise<void> {
    const path = this.#pathOf(ref);
    await chmod(path, READ_ONLY).catch((error: unknown) => Promise.reject(failure(error, 'suspend', path)));
  }

  async resume(ref: ResourceRef): Promise<void> {
    const path = this.#pathOf(ref);
    await chmod(path, WRITABLE).catch((error: unknown) => Promise.reject(failure(error, 'resume', path)));
    // SQLite creates -wal and -shm with the database file's mode: made while suspended, they are
    // read-only too and would keep every write failing after resume.
    for (const suffix of ['-wal', '-shm']) {
      await chmod(`${path}${suffix}`, WRITABLE).catch((error: unknown) => {
        if (codeOf(error) !== 'ENOENT') throw failure(error, 'resume', path);
      });
    }
  }

  async destroy(ref: ResourceRef): Promise<void> {
    const path = this.#pathOf(ref);
    const tenantDir = join(this.#dir, ref.tenantId);
    try {
      for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(`${path}${suffix}`, { force: true });
      await removeTemps(tenantDir, ref.id);
      // The tenant's folder goes with its last database; ENOENT/ENOTEMPTY mean nothing to do.
      await rmdir(tenantDir).catch(() => undefined);
    } catch (error) {
      throw failure(error, 'destroy', path);
    }
  }

  async rotateCredentials(ref: ResourceRef): Promise<Readonly<Record<string, string>>> {
    const path = this.#pathOf(ref);
    await stat(path).catch((error: unknown) => Promise.reject(failure(error, 'rotate credentials of', path)));
    return {};
  }

  async listOwned(): Promise<string[]> {
    const ids = new Set<string>();
    for (const tenant of await entries(this.#dir)) {
      if (!tenant.isDirectory() || !SEGMENT.test(tenant.name)) continue;
      for (const file of await entries(join(this.#dir, tenant.name))) {
        const id = (FILE.exec(file.name) ?? TEMP.exec(file.name))?.[1];
        if (id !== undefined) ids.add(id);
      }
    }
    return [...ids];
  }

  close(): Promise<void> {
    return Promise.resolve(); // no connections or processes of its own
  }

  #pathOf(ref: ResourceRef): string {
    for (const [key, value] of [
      ['id', ref.id],
      ['tenantId', ref.tenantId],
    ] as const) {
      if (!SEGMENT.test(value)) {
        throw new StrataError(
          'E_INVALID_INPUT',
          `sqlite resource ${key} must be 1–128 letters, digits, - or _, starting with a letter or digit`,
          { [key]: value },
        );
      }
    }
    return join(this.#dir, ref.tenantId, `${ref.id}.db`);
  }

  #ensureTemplate(): Promise<string> {
    this.#template ??= makeTemplate(this.#dir).catch((error: unknown) => {
      this.#template = undefined;
      throw error;
    });
    return this.#template;
  }
}

/** Builds the template under a temp name and renames it into place (concurrent builders agree). */
async function makeTemplate(dir: string): Promise<string> {
  const path = join(dir, '.template.db');
  if (await exists(path)) return path;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const db = new Database(temp);
    try {
      db.pragma('journal_mode = WAL'); // recorded in the file header, so every copy starts in WAL
      db.exec('CREATE TABLE strata_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      db.prepare("INSERT INTO strata_meta (key, value) VALUES ('template_version', '1')").run();
    } finally {
      db.close(); // the last connection checkpoints and removes -wal and -shm
    }
    await rename(temp, path);
  } finally {
    for (const suffix of ['', '-wal', '-shm']) await rm(`${temp}${suffix}`, { force: true });
  }
  return path;
}

async function removeTemps(tenantDir: string, id: string): Promise<void> {
  for (const file of await entries(tenantDir)) {
    if (TEMP.exec(file.name)?.[1] === id) await rm(join(tenantDir, file.name), { force: true });
  }
}

async function entries(dir: string): Promise<Dirent[]> {
  return readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    if (codeOf(error) === 'ENOENT') return [];
    throw error;
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error: unknown) => {
      if (codeOf(error) === 'ENOENT') return false;
      throw error;
    },
  );
}

/** Copies the template to a temp file in `tenantDir` and links it to `path` (a file made meanwhile is kept). */
async function copyInto(template: string, tenantDir: string, id: string, path: string): Promise<void> {
  await removeTemps(tenantDir, id);
  const temp = join(tenantDir, `.${id}.db.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await copyFile(template, temp, constants.COPYFILE_FICLONE);
    await chmod(temp, WRITABLE);
    // link, unlike rename, fails rather than replace a file someone made meanwhile
    await link(temp, path).catch((error: unknown) => {
      if (codeOf(error) !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temp, { force: true });
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function failure(error: unknown, action: string, path: string): StrataError {
  if (isStrataError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const notFound = codeOf(error) === 'ENOENT';
  return new StrataError(
    notFound ? 'E_NOT_FOUND' : 'E_INTERNAL',
    notFound ? `sqlite resource ${path} does not exist` : `sqlite: cannot ${action} ${path}: ${message}`,
    { path },
    { cause: error },
  );
}
