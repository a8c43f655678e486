/**
 * The postgres and sqlite resource drivers run the shared conformance suite, then their own tests.
 *
 * PostgreSQL runs twice: on the configured server (trust authentication on 127.0.0.1 here, so no
 * password is ever checked: "rotated-out credentials are refused" is left out there, detected by
 * trying a wrong password) and on a private scram-sha-256 server this file starts with initdb,
 * where a rotated-out password really fails to log in. SQLite's probe runs in a child process as
 * `nobody` when the tests run as root, since root ignores the read-only mode of a suspended file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { newId } from '../../../kernel/ids.ts';
import { resourceDriverConformance } from '../../../testkit/resource-driver-conformance.ts';
import { withCode } from '../../../testkit/stores.ts';
import type { Provisioned, ResourceRef } from '../types.ts';
import { PostgresResourceDriver } from './postgres.ts';
import { SqliteResourceDriver } from './sqlite.ts';

const run = promisify(execFile);
const ADMIN_URL = process.env['STRATA_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NAMESPACE = `stratat${randomBytes(4).toString('hex')}`;
const AS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

function clientFor(provisioned: Provisioned, database?: string): pg.Client {
  const { env, secrets } = provisioned;
  const client = new pg.Client({
    host: env['PGHOST'],
    port: Number(env['PGPORT']),
    database: database ?? env['PGDATABASE'],
    user: env['PGUSER'],
    password: secrets['PGPASSWORD'],
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => undefined); // a terminated session; the next query reports it
  return client;
}

async function probePostgres(_ref: ResourceRef, provisioned: Provisioned, marker: string): Promise<string[]> {
  const client = clientFor(provisioned);
  await client.connect();
  try {
    await client.query('SELECT 1');
    await client.query('CREATE TABLE IF NOT EXISTS probe (id bigserial PRIMARY KEY, marker text NOT NULL)');
    await client.query('INSERT INTO probe (marker) VALUES ($1)', [marker]);
    const { rows } = await client.query<{ marker: string }>('SELECT marker FROM probe ORDER BY id');
    return rows.map((row) => row.marker);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const SQLITE_PROBE = `
const [modulePath, path, marker] = process.argv.slice(1);
const db = new (require(modulePath))(path, { fileMustExist: true });
db.exec('CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, marker TEXT NOT NULL)');
db.prepare('INSERT INTO probe (marker) VALUES (?)').run(marker);
process.stdout.write(JSON.stringify(db.prepare('SELECT marker FROM probe ORDER BY id').pluck().all()));`;

/** Opens the file in a child process, as `nobody` under root (files handed to it) so modes count. */
async function probeSqlite(_ref: ResourceRef, provisioned: Provisioned, marker: string): Promise<string[]> {
  const path = provisioned.env['SQLITE_PATH'] ?? '';
  if (AS_ROOT) {
    for (const file of [dirname(path), path, `${path}-wal`, `${path}-shm`])
      if (file === path || existsSync(file)) chownSync(file, NOBODY, NOBODY);
  }
  const modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
  const { stdout } = await run(process.execPath, ['-e', SQLITE_PROBE, modulePath, path, marker], {
    ...(AS_ROOT ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  return JSON.parse(stdout) as string[];
}

/** Whether the server refuses a wrong password (false under trust authentication). */
async function serverChecksPasswords(adminUrl: string): Promise<boolean> {
  const admin = new pg.Client({ connectionString: adminUrl });
  const role = `${NAMESPACE}_pwcheck`;
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${randomBytes(16).toString('hex')}'`);
    const url = new URL(adminUrl);
    const client = new pg.Client({
      host: url.hostname,
      port: Number(url.port || 5432),
      user: role,
      database: 'postgres',
      password: 'wrong',
    });
    return await client.connect().then(
      () => client.end().then(() => false),
      () => true,
    );
  } finally {
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** A private PostgreSQL with scram-sha-256 for every connection; a string says why not. */
async function startScramServer(): Promise<{ adminUrl: string; stop(): Promise<void> } | string> {
  const bin =
    process.env['STRATA_TEST_PG_BINDIR'] ??
    (await run('pg_config', ['--bindir']).then(
      (r) => r.stdout.trim(),
      () => '',
    ));
  if (!existsSync(join(bin, 'initdb'))) return 'no initdb found (set STRATA_TEST_PG_BINDIR)';
  const asPostgres = async (cmd: string, args: string[]): Promise<unknown> =>
    AS_ROOT ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args);
  const dir = mkdtempSync(join(tmpdir(), 'strata-scram-'));
  try {
    const password = randomBytes(12).toString('hex');
    writeFileSync(join(dir, 'pw'), password);
    if (AS_ROOT) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout);
      for (const path of [dir, join(dir, 'pw')]) chownSync(path, uid, uid);
    }
    const data = join(dir, 'data');
    await asPostgres('initdb', [
      '-D',
      data,
      '-A',
      'scram-sha-256',
      '-U',
      'postgres',
      `--pwfile=${join(dir, 'pw')}`,
      '-N',
    ]);
    const port = await freePort();
    const flags = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await asPostgres('pg_ctl', ['-D', data, '-o', flags, '-w', '-l', join(dir, 'log'), 'start']);
    return {
      adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      stop: async () => {
        await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return `could not start a private PostgreSQL: ${String(error)}`;
  }
}

const checksPasswords = await serverChecksPasswords(ADMIN_URL);
resourceDriverConformance(
  'postgres',
  () => new PostgresResourceDriver({ adminUrl: ADMIN_URL, namespace: NAMESPACE }),
  {
    probe: probePostgres,
    // Proved instead on the private scram-sha-256 server below.
    notApplicable: checksPasswords
      ? []
      : [
          {
            test: 'rotated-out credentials are refused',
            reason: 'the server trusts 127.0.0.1 and checks no password',
          },
        ],
  },
);

const scram = await startScramServer();
if (typeof scram === 'string') {
  void describe('resource driver conformance: postgres with scram-sha-256', { skip: scram }, () => undefined);
} else {
  after(() => scram.stop());
  resourceDriverConformance(
    'postgres with scram-sha-256, no spares',
    () => new PostgresResourceDriver({ adminUrl: scram.adminUrl, spares: 0 }),
    { probe: probePostgres },
  );
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'strata-sqlite-res-'));
chmodSync(sqliteDir, 0o711); // `nobody` must reach the tenant folders the probe hands it
after(() => rmSync(sqliteDir, { recursive: true, force: true }));
resourceDriverConformance('sqlite', () => new SqliteResourceDriver({ dir: sqliteDir }), {
  probe: probeSqlite,
});

after(async () => {
  const driver = new PostgresResourceDriver({ adminUrl: ADMIN_URL, namespace: NAMESPACE });
  await driver.drain();
  await driver.close();
});

void describe('postgres resource driver', () => {
  const driver = new PostgresResourceDriver({
    adminUrl: ADMIN_URL,
    namespace: NAMESPACE,
    connectionLimit: 2,
  });
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  const made: ResourceRef[] = [];
  const create = async (name = 'db'): Promise<[ResourceRef, Provisioned]> => {
    const ref: ResourceRef = { id: newId('res'), tenantId: 't', name, config: {}, handle: {} };
    made.push(ref);
    const provisioned = await driver.create(ref);
    return [{ ...ref, handle: provisioned.handle }, provisioned];
  };
  const open = async (provisioned: Provisioned, database?: string): Promise<pg.Client> => {
    const client = clientFor(provisioned, database);
    await client.connect();
    return client;
  };
  const pgCode = (code: string) => (error: unknown) => (error as { code?: unknown }).code === code;

  before(() => admin.connect());
  after(async () => {
    for (const ref of made) await driver.destroy(ref).catch(() => undefined);
    await driver.close();
    await admin.end();
  });

  it('names the database and role after the id alone, owned by the role, closed to PUBLIC', async () => {
    const [ref, provisioned] = await create(`x"; DROP ROLE postgres; --`);
    const name = `${NAMESPACE}_r_${ref.id.toLowerCase()}`;
    assert.deepEqual(provisioned.handle, { database: name, role: name });
    assert.equal(provisioned.env['PGDATABASE'], name);
    const { rows } = await admin.query<Record<string, unknown>>(
      `SELECT pg_get_userbyid(d.datdba) AS owner, d.datacl::text AS acl, d.datconnlimit, r.rolconnlimit,
              r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolpassword LIKE 'SCRAM-SHA-256$4096:%' AS scram
         FROM pg_database d JOIN pg_authid r ON r.rolname = d.datname WHERE d.datname = $1`,
      [name],
    );
    assert.deepEqual(rows, [
      {
        owner: name,
        acl: `{${name}=CTc/${name}}`,
        datconnlimit: 2,
        rolconnlimit: 2,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        scram: true,
      },
    ]);
    assert.ok((await driver.listOwned()).includes(ref.id), 'the lowered name maps back to the id');
    const viaUrl = new pg.Client({ connectionString: provisioned.secrets['DATABASE_URL'] });
    await viaUrl.connect();
    assert.equal((await viaUrl.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u, name);
    await viaUrl.end();
  });

  it("another tenant's role cannot connect to this database (REVOKE CONNECT)", async () => {
    const [, mine] = await create();
    const [, theirs] = await create();
    await assert.rejects(open(theirs, mine.env['PGDATABASE']), pgCode('42501'));
  });

  it('enforces the connection limit', async () => {
    const [, provisioned] = await create();
    const clients = [await open(provisioned), await open(provisioned)];
    await assert.rejects(open(provisioned), pgCode('53300'));
    await Promise.all(clients.map((c) => c.end()));
  });

  it('suspend ends open sessions, and the role cannot log in anywhere to undo it', async () => {
    const [ref, provisioned] = await create();
    const session = await open(provisioned);
    await driver.suspend(ref);
    await assert.rejects(session.query('SELECT 1'));
    await assert.rejects(open(provisioned, 'postgres'), pgCode('28000'));
    const url = new URL(ADMIN_URL);
    url.pathname = `/${provisioned.env['PGDATABASE']}`;
    const superuser = new pg.Client({ connectionString: url.toString() });
    await assert.rejects(superuser.connect(), pgCode('55000'), 'nobody connects, not even a superuser');
    await driver.resume(ref);
    await (await open(provisioned)).end();
  });

  it('rotation ends sessions opened with the old password; the server keeps only a verifier', async () => {
    const [ref, provisioned] = await create();
    const verifier = async (): Promise<unknown> =>
      (await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [ref.handle['role']]))
        .rows[0];
    const before = await verifier();
    const session = await open(provisioned);
    const secrets = await driver.rotateCredentials(ref);
    await assert.rejects(session.query('SELECT 1'));
    assert.notDeepEqual(await verifier(), before);
    assert.ok(!JSON.stringify(await verifier()).includes(secrets['PGPASSWORD'] ?? '?'));
  });

  it('finds half-made leftovers: a database without role is reused, a lone role removed', async () => {
    const crashedId = newId('res');
    const crashed = `${NAMESPACE}_r_${crashedId.toLowerCase()}`;
    await admin.query(`CREATE DATABASE ${crashed} TEMPLATE template0 ALLOW_CONNECTIONS false`);
    const loneId = newId('res');
    await admin.query(`CREATE ROLE ${NAMESPACE}_r_${loneId.toLowerCase()}`);
    const owned = await driver.listOwned();
    assert.ok(owned.includes(crashedId) && owned.includes(loneId));
    const ref: ResourceRef = { id: crashedId, tenantId: 't', name: 'db', config: {}, handle: {} };
    made.push(ref);
    assert.deepEqual(await probePostgres(ref, await driver.create(ref), 'reused'), ['reused']);
    await driver.destroy({ ...ref, id: loneId });
    assert.ok(!(await driver.listOwned()).includes(loneId));
  });

  it('a missing template fails create with E_CONFIG and makes nothing', async () => {
    const broken = new PostgresResourceDriver({
      adminUrl: ADMIN_URL,
      namespace: NAMESPACE,
      template: 'strata_no_such_db',
    });
    const ref: ResourceRef = { id: newId('res'), tenantId: 't', name: 'db', config: {}, handle: {} };
    await assert.rejects(broken.create(ref), withCode('E_CONFIG'));
    assert.ok(!(await broken.listOwned()).includes(ref.id));
    await broken.close();
  });

  it('refuses bad options with E_CONFIG', () => {
    for (const options of [
      { namespace: 'Bad-NS' },
      { connectionLimit: 0 },
      { spares: -1 },
      { spares: 1.5 },
      { adminUrl: 'not a url' },
    ])
      assert.throws(
        () => new PostgresResourceDriver({ adminUrl: ADMIN_URL, ...options }),
        withCode('E_CONFIG'),
      );
  });

  it('create renames a ready spare (same oid); drain drops the spares', async () => {
    const namespace = `${NAMESPACE}sp`;
    const pooled = new PostgresResourceDriver({ adminUrl: ADMIN_URL, namespace, spares: 2 });
    const spares = async (): Promise<string[]> =>
      (
        await admin.query<{ oid: string }>(
          'SELECT oid::text FROM pg_database WHERE starts_with(datname, $1)',
          [`${namespace}_s_`],
        )
      ).rows.map((r) => r.oid);
    try {
      await pooled.warm();
      const ready = await spares();
      assert.equal(ready.length, 2);
      const ref: ResourceRef = { id: newId('res'), tenantId: 't', name: 'db', config: {}, handle: {} };
      const provisioned = await pooled.create(ref);
      const { rows } = await admin.query<{ oid: string }>(
        'SELECT oid::text FROM pg_database WHERE datname = $1',
        [provisioned.handle['database']],
      );
      assert.ok(ready.includes(rows[0]?.oid ?? ''), 'the resource is one of the spares');
      assert.deepEqual(await probePostgres(ref, provisioned, 'x'), ['x']);
      await pooled.destroy(ref);
      await pooled.drain();
      assert.deepEqual(await spares(), []);
    } finally {
      await pooled.drain().catch(() => undefined);
      await pooled.close();
    }
  });
});

void describe('sqlite resource driver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-sqlite-own-'));
  const driver = new SqliteResourceDriver({ dir });
  const ref = (tenantId = 't'): ResourceRef => ({
    id: newId('res'),
    tenantId,
    name: 'db',
    config: {},
    handle: {},
  });
  const mode = (path: string): number => statSync(path).mode & 0o777;
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a WAL file with strata_meta per resource under its tenant, 0600; 0400 while suspended', async () => {
    const r = ref();
    const { env, handle, secrets } = await driver.create(r);
    const path = join(dir, 't', `${r.id}.db`);
    assert.deepEqual({ env, handle, secrets }, { env: { SQLITE_PATH: path }, handle: { path }, secrets: {} });
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(db.prepare('SELECT key FROM strata_meta').pluck().all(), ['template_version']);
    db.close();
    assert.equal(mode(path), 0o600);
    await driver.suspend(r);
    assert.equal(mode(path), 0o400);
    const reader = new Database(path, { readonly: true });
    assert.equal(reader.prepare('SELECT count(*) FROM strata_meta').pluck().get(), 1, 'still readable');
    reader.close();
    await driver.resume(r);
    assert.equal(mode(path), 0o600);
  });

  it('refuses tenant ids that are not path segments, making nothing', async () => {
    const before = await driver.listOwned();
    for (const tenantId of ['../outside', '.hidden', 'a/b', ''])
      await assert.rejects(driver.create(ref(tenantId)), withCode('E_INVALID_INPUT'));
    assert.ok(!existsSync(join(dir, '..', 'outside')));
    assert.deepEqual(await driver.listOwned(), before);
  });

  it('reports a leftover temp copy, clears it on create, and keeps an existing file', async () => {
    const r = ref();
    const leftover = join(dir, 't', `.${r.id}.db.0badc0de.tmp`);
    await driver.create(ref()); // makes the tenant folder
    writeFileSync(leftover, 'half a copy');
    assert.ok((await driver.listOwned()).includes(r.id));
    const provisioned = await driver.create(r);
    assert.ok(!existsSync(leftover));
    const path = provisioned.env['SQLITE_PATH'] ?? '';
    const db = new Database(path);
    db.exec('CREATE TABLE kept (x)');
    db.close();
    await driver.create(r);
    const reopened = new Database(path);
    assert.equal(reopened.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'kept'").pluck().get(), 1);
    reopened.close();
  });

  it('destroy removes the -wal and -shm files and the empty tenant folder', async () => {
    const r = ref('lonely');
    const path = (await driver.create(r)).env['SQLITE_PATH'] ?? '';
    const db = new Database(path);
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    assert.ok(existsSync(`${path}-wal`) && existsSync(`${path}-shm`));
    await driver.destroy(r); // with the connection still open, so -wal and -shm are there
    db.close();
    for (const file of [path, `${path}-wal`, `${path}-shm`, join(dir, 'lonely')])
      assert.ok(!existsSync(file), file);
  });

  it("a create racing the destroy of its tenant's last database still makes its file", async () => {
    // The destroy removes the tenant's folder once it is empty, which can fall between a create's
    // mkdir and its copy (seen in the 50-agent demo: provision.create answered E_NOT_FOUND).
    for (let i = 0; i < 200; i++) {
      const last = ref('racing');
      await driver.create(last);
      const next = ref('racing');
      // The create starts 0 to 19 turns of the event loop after the destroy, to meet its rmdir.
      const later = async (turns: number) => {
        for (let t = 0; t < turns; t++) await new Promise((resolve) => setImmediate(resolve));
        return driver.create(next);
      };
      const [, made] = await Promise.all([driver.destroy(last), later(i % 20)]);
      assert.ok(existsSync(made.env['SQLITE_PATH'] ?? ''), `round ${i}`);
      await driver.destroy(next);
    }
  });
});
