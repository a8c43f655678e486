/**
 * @module provisioning/resources/drivers/postgres
 * The `postgres` resource: a real database on the configured PostgreSQL server, with its own login
 * role (random 32-byte password, stored by the server as a SCRAM-SHA-256 verifier computed here,
 * so the password never reaches the server or its statement log), owning its database, with
 * `CONNECT` revoked from `PUBLIC` and a connection limit on both the role and the database.
 *
 * Design
 * - **Names come from the id only** (never from the user's name): `<namespace>_r_<id lowercased>`
 *   for both the database and the role. Ids are Strata ids (`res_01J…`: a lower-case prefix, `_`,
 *   an upper-case ULID), so lowering is reversible and `listOwned` upper-cases the ULID back.
 * - **Template**: databases are cloned from `strata_resource_template` (made once from `template0`,
 *   `IS_TEMPLATE`, `ALLOW_CONNECTIONS false` so no session ever blocks a clone with "source
 *   database is being accessed"). Operators may add extensions or schema to it; pass `template`
 *   to clone another database instead.
 * - **Spares**: `CREATE DATABASE` copies and fsyncs the template (100–400 ms on an ordinary disk),
 *   so the driver keeps `spares` clones ready (`<namespace>_s_<hex>`, owned by the admin, no
 *   connections allowed) and `create` claims one by renaming it — one transaction that also makes
 *   the role and sets owner, grants and limits, so a crash leaves either a spare or a complete
 *   database. A background refill replaces it. With no spare left, `create` clones directly.
 * - **Suspend** (scale to zero) sets `ALLOW_CONNECTIONS false`, makes the role `NOLOGIN` (an owner
 *   could otherwise re-allow connections to its own database from another database) and
 *   terminates every session of the database or role. Data is kept.
 * - **Rotation** sets a new verifier and terminates the role's sessions, so sessions opened with
 *   the old password end too.
 * - Trust authentication (`pg_hba.conf` `trust`) makes the server check no password at all: the
 *   role, `REVOKE CONNECT`, limits and suspension still hold; a password only matters under `scram`.
 */
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type pg from 'pg';
import { z } from 'zod';
import { isStrataError, StrataError } from '../../../kernel/errors.ts';
import type { Provisioned, ResourceDriver, ResourceRef } from '../types.ts';

export interface PostgresResourceDriverOptions {
  /** A superuser connection string. @default 'postgres://postgres@127.0.0.1:5432/postgres' */
  readonly adminUrl?: string;
  /** The database to clone. @default 'strata_resource_template' (made from template0 on first use) */
  readonly template?: string;
  /** Connections allowed per resource, on its role and its database. @default 10 */
  readonly connectionLimit?: number;
  /** Host written to `PGHOST` and `DATABASE_URL`. @default the admin URL's host */
  readonly host?: string;
  /** Port written to `PGPORT` and `DATABASE_URL`. @default the admin URL's port, else 5432 */
  readonly port?: number;
  /** Prefix of every database and role the driver makes (`[a-z][a-z0-9]{0,19}`). @default 'strata' */
  readonly namespace?: string;
  /** Clones kept ready so `create` renames one instead of copying; 0 turns this off. @default 2 */
  readonly spares?: number;
}

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_TEMPLATE = 'strata_resource_template';
const NAMESPACE = /^[a-z][a-z0-9]{0,19}$/;
/** A Strata id: an optional lower-case type prefix and `_`, then upper-case base32 (a ULID). */
const RESOURCE_ID = /^(?:[a-z][a-z0-9]*_)?[0-9A-Z]+$/;
const LOWERED_ID = /^((?:[a-z][a-z0-9]*_)?)([0-9a-z]+)$/;
const MAX_IDENTIFIER = 63;
const SCRAM_ITERATIONS = 4096;
/** Lock and catalog contention between sessions creating, renaming or dropping databases. */
const TRANSIENT = new Set(['55006', '40001', '40P01', '55P03']);
const pbkdf2Async = promisify(pbkdf2);
// pg (~30 modules) is required when a driver is made (a postgres admin URL is configured), not with
// the provisioning layer that every CLI command and worker process loads.
const require = createRequire(import.meta.url);
let pgModule: typeof pg | undefined;
const pgOf = (): typeof pg => (pgModule ??= require('pg') as typeof pg);

const q = (identifier: string): string => pgOf().escapeIdentifier(identifier);

/** What an earlier, interrupted `create` of the same id left behind. */
interface Leftovers {
  readonly database: boolean;
  readonly role: boolean;
}

interface Settings {
  readonly template: string;
  readonly managedTemplate: boolean;
  readonly connectionLimit: number;
  readonly host: string;
  readonly port: number;
  readonly resourcePrefix: string;
  readonly sparePrefix: string;
  readonly spares: number;
}

function settingsOf(options: PostgresResourceDriverOptions, adminUrl: URL): Settings {
  const namespace = options.namespace ?? 'strata';
  const connectionLimit = options.connectionLimit ?? 10;
  const spares = options.spares ?? 2;
  const bad = (key: string, why: string): StrataError =>
    new StrataError('E_CONFIG', `postgres resource driver: ${key} ${why}`, { key });
  if (!NAMESPACE.test(namespace)) throw bad('namespace', 'must match [a-z][a-z0-9]{0,19}');
  if (!Number.isInteger(connectionLimit) || connectionLimit < 1 || connectionLimit > 10_000)
    throw bad('connectionLimit', 'must be an integer from 1 to 10000');
  if (!Number.isInteger(spares) || spares < 0 || spares > 50)
    throw bad('spares', 'must be an integer from 0 to 50');
  return {
    template: options.template ?? DEFAULT_TEMPLATE,
    managedTemplate: options.template === undefined,
    connectionLimit,
    host: options.host ?? (adminUrl.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1'),
    port: options.port ?? (adminUrl.port === '' ? 5432 : Number(adminUrl.port)),
    resourcePrefix: `${namespace}_r_`,
    sparePrefix: `${namespace}_s_`,
    spares,
  };
}

/**
 * PostgreSQL databases as resources. One admin pool per driver; `warm()` makes the template and
 * the spares ahead of the first `create`, `drain()` drops the spares (uninstall, tests).
 */
export class PostgresResourceDriver implements ResourceDriver {
  readonly kind = 'postgres';
  readonly description =
    'A PostgreSQL database with its own login role, a random password and a connection limit.';
  readonly configSchema = z.object({}).strict();
  readonly meters = { readySeconds: 'postgres.ready_seconds', provisions: 'postgres.provisions' };
  readonly #pool: pg.Pool;
  readonly #settings: Settings;
  #template: Promise<void> | undefined;
  #refilling: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: PostgresResourceDriverOptions = {}) {
    const adminUrl = options.adminUrl ?? DEFAULT_ADMIN_URL;
    if (!URL.canParse(adminUrl)) {
      // not echoed back: it may hold a password
      throw new StrataError('E_CONFIG', 'postgres resource driver: adminUrl is not a URL', {
        key: 'adminUrl',
      });
    }
    this.#settings = settingsOf(options, new URL(adminUrl));
    this.#pool = new (pgOf().Pool)({ connectionString: adminUrl, max: 4 });
    // An idle admin connection that drops emits 'error' on the pool; the next query reconnects.
    this.#pool.on('error', () => undefined);
  }

  async create(ref: ResourceRef): Promise<Provisioned> {
    const name = this.#nameOf(ref.id);
    const password = randomBytes(32).toString('base64url');
    const verifier = await scramVerifier(password);
    try {
      await this.#ensureTemplate();
      const { rows } = await this.#pool.query<Leftovers>(
        `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS database,
                EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS role`,
        [name],
      );
      const found = rows[0] ?? { database: false, role: false };
      // A leftover of an earlier attempt is reused; otherwise a spare, else a fresh clone.
      if (found.database || !(await this.#claimSpare(name, verifier, found.role)))
        await this.#cloneAndGrant(name, verifier, found);
    } catch (error) {
      throw failure(error, 'create', name);
    }
    this.#refill();
    return this.#provisioned(name, password);
  }

  async suspend(ref: ResourceRef): Promise<void> {
    const name = this.#nameOf(ref.id);
    await this.#script('suspend', name, [
      `ALTER ROLE ${q(name)} NOLOGIN`,
      `ALTER DATABASE ${q(name)} WITH ALLOW_CONNECTIONS false`,
    ]);
    await this.#terminate(name);
  }

  async resume(ref: ResourceRef): Promise<void> {
    const name = this.#nameOf(ref.id);
    await this.#script('resume', name, [
      `ALTER DATABASE ${q(name)} WITH ALLOW_CONNECTIONS true`,
      `ALTER ROLE ${q(name)} LOGIN`,
    ]);
  }

  async destroy(ref: ResourceRef): Promise<void> {
    const name = this.#nameOf(ref.id);
    await this.#script('destroy', name, [`DROP DATABASE IF EXISTS ${q(name)} WITH (FORCE)`]);
    await this.#terminate(name);
    try {
      await this.#exec(`DROP ROLE IF EXISTS ${q(name)}`);
    } catch (error) {
      // 2BP01: the role still owns or was granted something in the admin database (e.g. a
      // grant left by a tenant). Those go with the role; its own database is already gone.
      if (codeOf(error) !== '2BP01') throw failure(error, 'destroy', name);
      await this.#script('destroy', name, [`DROP OWNED BY ${q(name)}`, `DROP ROLE ${q(name)}`]);
    }
  }

  async rotateCredentials(ref: ResourceRef): Promise<Readonly<Record<string, string>>> {
    const name = this.#nameOf(ref.id);
    const password = randomBytes(32).toString('base64url');
    const verifier = await scramVerifier(password);
    await this.#script('rotate credentials of', name, [
      `ALTER ROLE ${q(name)} PASSWORD ${pgOf().escapeLiteral(verifier)}`,
    ]);
    await this.#terminate(name);
    return this.#provisioned(name, password).secrets;
  }

  async listOwned(): Promise<string[]> {
    const { resourcePrefix } = this.#settings;
    const { rows } = await this.#pool
      .query<{ name: string }>(
        `SELECT datname AS name FROM pg_database WHERE starts_with(datname, $1)
         UNION SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)`,
        [resourcePrefix],
      )
      .catch((error: unknown) => Promise.reject(failure(error, 'list', resourcePrefix)));
    const ids = rows.map((row) => LOWERED_ID.exec(row.name.slice(resourcePrefix.length)));
    return ids.flatMap((match) => (match ? [`${match[1]}${match[2]?.toUpperCase()}`] : []));
  }

  /** Makes the template and fills the spares now, instead of on the first `create`. */
  async warm(): Promise<void> {
    await this.#ensureTemplate();
    this.#refill();
    await this.#refilling;
  }

  /** Drops the spare databases (they survive `close` to serve the next driver). */
  async drain(): Promise<void> {
    await this.#refilling;
    const { rows } = await this.#pool.query<{ name: string }>(
      'SELECT datname AS name FROM pg_database WHERE starts_with(datname, $1)',
      [this.#settings.sparePrefix],
    );
    for (const { name } of rows) await this.#exec(`DROP DATABASE IF EXISTS ${q(name)} WITH (FORCE)`);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#refilling;
      await this.#pool.end();
    })();
    return this.#closed;
  }

  #nameOf(id: string): string {
    const name = `${this.#settings.resourcePrefix}${id.toLowerCase()}`;
    if (!RESOURCE_ID.test(id) || Buffer.byteLength(name) > MAX_IDENTIFIER) {
      throw new StrataError(
        'E_INVALID_INPUT',
        `postgres resource id must be a Strata id (e.g. res_01J…) of at most ${MAX_IDENTIFIER - this.#settings.resourcePrefix.length} characters`,
        { id },
      );
    }
    return name;
  }

  #provisioned(name: string, password: string): Provisioned {
    const { host, port } = this.#settings;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    return {
      handle: { database: name, role: name },
      env: { PGHOST: host, PGPORT: String(port), PGDATABASE: name, PGUSER: name },
      secrets: {
        PGPASSWORD: password,
        DATABASE_URL: `postgresql://${name}:${password}@${urlHost}:${port}/${name}`,
      },
    };
  }

  /** Role, owner, grants, limits and (when claiming a spare) the rename, as one transaction. */
  #grant(name: string, verifier: string, options: { roleExists: boolean; spare?: string }): Promise<unknown> {
    const { connectionLimit: limit } = this.#settings;
    const db = q(name);
    // A multi-statement simple query runs as one implicit transaction: all or nothing.
    return this.#exec(
      [
        `${options.roleExists ? 'ALTER' : 'CREATE'} ROLE ${db} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE` +
          ` NOREPLICATION NOBYPASSRLS CONNECTION LIMIT ${limit} PASSWORD ${pgOf().escapeLiteral(verifier)}`,
        ...(options.spare === undefined ? [] : [`ALTER DATABASE ${q(options.spare)} RENAME TO ${db}`]),
        `ALTER DATABASE ${db} OWNER TO ${db}`,
        `REVOKE ALL ON DATABASE ${db} FROM PUBLIC`,
        `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${db}`,
        `ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS true CONNECTION LIMIT ${limit}`,
      ].join(';\n'),
    );
  }

  /** Takes a spare by renaming it; false when none is left (or others took them first). */
  async #claimSpare(name: string, verifier: string, roleExists: boolean): Promise<boolean> {
    if (this.#settings.spares === 0) return false;
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.#pool.query<{ spare: string }>(
        'SELECT datname AS spare FROM pg_database WHERE starts_with(datname, $1) ORDER BY random() LIMIT 1',
        [this.#settings.sparePrefix],
      );
      const spare = rows[0]?.spare;
      if (spare === undefined) return false;
      // Another driver renaming the same spare makes this transaction fail and roll back whole.
      const claimed = await this.#grant(name, verifier, { roleExists, spare }).then(
        () => true,
        () => false,
      );
      if (claimed) return true;
    }
    return false;
  }

  /** Clones the template (unless a leftover of an earlier attempt exists), then grants. */
  async #cloneAndGrant(name: string, verifier: string, found: Leftovers): Promise<void> {
    if (!found.database) {
      // Connections stay off until the grants below commit, so PUBLIC never gets a window.
      await this.#exec(
        `CREATE DATABASE ${q(name)} TEMPLATE ${q(this.#settings.template)} ALLOW_CONNECTIONS false`,
      );
    }
    try {
      await this.#grant(name, verifier, { roleExists: found.role });
    } catch (error) {
      if (!found.database)
        await this.#exec(`DROP DATABASE IF EXISTS ${q(name)} WITH (FORCE)`).catch(() => undefined);
      throw error;
    }
  }

  #ensureTemplate(): Promise<void> {
    this.#template ??= this.#makeTemplate().catch((error: unknown) => {
      this.#template = undefined;
      throw error;
    });
    return this.#template;
  }

  async #makeTemplate(): Promise<void> {
    const { template, managedTemplate } = this.#settings;
    const { rowCount } = await this.#pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (rowCount !== 0) return;
    if (!managedTemplate) {
      const message = `postgres resource driver: template database ${template} does not exist`;
      throw new StrataError('E_CONFIG', message, { key: 'template' });
    }
    await this.#exec(
      `CREATE DATABASE ${q(template)} TEMPLATE template0 IS_TEMPLATE true ALLOW_CONNECTIONS false`,
    ).catch((error: unknown) => {
      if (codeOf(error) !== '42P04') throw error; // another process made it first
    });
  }

  #refill(): void {
    if (this.#settings.spares === 0 || this.#refilling !== undefined || this.#closed !== undefined) return;
    // A failed refill only means the next create clones directly, and reports the cause itself.
    this.#refilling = this.#fillSpares()
      .catch(() => undefined)
      .finally(() => {
        this.#refilling = undefined;
      });
  }

  async #fillSpares(): Promise<void> {
    await this.#ensureTemplate();
    const { sparePrefix, template, spares } = this.#settings;
    while (this.#closed === undefined) {
      const { rows } = await this.#pool.query<{ count: string }>(
        'SELECT count(*) AS count FROM pg_database WHERE starts_with(datname, $1)',
        [sparePrefix],
      );
      if (Number(rows[0]?.count ?? 0) >= spares) return;
      const spare = `${sparePrefix}${randomBytes(8).toString('hex')}`;
      await this.#exec(`CREATE DATABASE ${q(spare)} TEMPLATE ${q(template)} ALLOW_CONNECTIONS false`);
    }
  }

  /** Ends every session of the database or the role, waiting up to 5 s for each to go. */
  async #terminate(name: string): Promise<void> {
    await this.#pool
      .query(
        'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 OR usename = $1',
        [name],
      )
      .catch((error: unknown) => Promise.reject(failure(error, 'terminate sessions of', name)));
  }

  async #script(action: string, name: string, statements: readonly string[]): Promise<void> {
    await this.#exec(statements.join(';\n')).catch((error: unknown) =>
      Promise.reject(failure(error, action, name)),
    );
  }

  /** One admin statement (or implicit-transaction script), retried on transient contention. */
  async #exec(sql: string): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#pool.query(sql);
      } catch (error) {
        if (attempt >= 5 || !TRANSIENT.has(codeOf(error) ?? '')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30));
      }
    }
  }
}

/** A SCRAM-SHA-256 verifier in PostgreSQL's `rolpassword` format (RFC 5802/7677). */
async function scramVerifier(password: string): Promise<string> {
  const salt = randomBytes(16);
  const salted = await pbkdf2Async(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const hmac = (text: string): Buffer => createHmac('sha256', salted).update(text).digest();
  const storedKey = createHash('sha256').update(hmac('Client Key')).digest('base64');
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey}:${hmac('Server Key').toString('base64')}`;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Maps a pg failure to a kernel code, keeping the original as `cause`. */
function failure(error: unknown, action: string, name: string): StrataError {
  if (isStrataError(error)) return error;
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  // Network failures (ECONNREFUSED…, a dropped socket), SQLSTATE 08… (connection), 57P… (shutdown).
  const unavailable =
    code === undefined ? /connection|timeout/i.test(message) : /^(E[A-Z_]{3,}|08...|57P..)$/.test(code);
  const kernelCode =
    code === '3D000' || code === '42704' ? 'E_NOT_FOUND' : unavailable ? 'E_UNAVAILABLE' : 'E_INTERNAL';
  return new StrataError(
    kernelCode,
    `postgres: cannot ${action} ${name}: ${message}`,
    { database: name, pgCode: code },
    {
      cause: error,
    },
  );
}
