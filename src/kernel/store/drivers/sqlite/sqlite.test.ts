// SQLite driver: what only this driver does (pragmas, files, the single-connection mutex, busy
// handling, the hot path), then the shared store conformance suite.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isStrataError } from '../../../errors.ts';
import { describeStoreConformance } from '../../../../testkit/store-conformance.ts';
import { SqliteConnection } from './driver.ts';
import { createSqliteStore } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `nested-${++files}`, 'deeper', 'strata.db');
const withCode = (code: string) => (error: unknown) => isStrataError(error) && error.code === code;

void describe('sqlite driver', () => {
  void it('creates parent directories and configures WAL, synchronous=NORMAL, foreign keys and busy_timeout', async () => {
    const path = freshPath();
    const store = await createSqliteStore({ path, busyTimeoutMs: 1234 });
    try {
      assert.ok(existsSync(path));
      assert.deepEqual(await store.get('PRAGMA journal_mode'), { journal_mode: 'wal' });
      assert.deepEqual(await store.get('PRAGMA synchronous'), { synchronous: 1 }); // 1 = NORMAL
      assert.deepEqual(await store.get('PRAGMA foreign_keys'), { foreign_keys: 1 });
      assert.deepEqual(await store.get('PRAGMA busy_timeout'), { timeout: 1234 });
      await store.run('CREATE TABLE parent (id TEXT PRIMARY KEY)');
      await store.run('CREATE TABLE child (parent_id TEXT NOT NULL REFERENCES parent (id))');
      await assert.rejects(store.run('INSERT INTO child VALUES (?)', ['orphan']), withCode('E_STORE'));
    } finally {
      await store.close();
    }
  });

  void it('keeps data in the file across reopening', async () => {
    const path = freshPath();
    const first = await createSqliteStore({ path });
    await first.run('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)');
    await first.run('INSERT INTO kv VALUES (?, ?)', ['a', 'b']);
    await first.close();
    const second = await createSqliteStore({ path });
    assert.deepEqual(await second.all('SELECT * FROM kv'), [{ k: 'a', v: 'b' }]);
    await second.close();
  });

  void it('runs a call at once, without waiting a tick, when no transaction is open', async () => {
    const path = freshPath();
    const store = await createSqliteStore({ path });
    await store.run('CREATE TABLE t (id TEXT)');
    const observer = new Database(path, { readonly: true });
    const pending = store.run('INSERT INTO t VALUES (?)', ['now']);
    assert.deepEqual(
      observer.prepare('SELECT id FROM t').all(),
      [{ id: 'now' }],
      'written before the first await',
    );
    await pending;
    observer.close();
    await store.close();
  });

  void it('queues top-level calls behind an open transaction, in order, outside its work', async () => {
    const store = await createSqliteStore({ path: ':memory:' });
    await store.run('CREATE TABLE t (id TEXT PRIMARY KEY)');
    const events: string[] = [];
    let finish: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const tx = store.transaction(async (t) => {
      await t.run('INSERT INTO t VALUES (?)', ['in-tx']);
      await gate;
      throw new Error('roll it back');
    });
    const read = store.all('SELECT id FROM t').then((rows) => events.push(`read ${rows.length}`));
    const write = store.run('INSERT INTO t VALUES (?)', ['after']).then(() => events.push('write'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(events, [], 'nothing ran while the transaction was open');
    finish();
    await assert.rejects(tx, /roll it back/);
    await Promise.all([read, write]);
    assert.deepEqual(events, ['read 0', 'write'], 'they saw none of the rolled-back work, in call order');
    await store.close();
  });

  void it('refuses a call on the store from inside its own transaction instead of deadlocking', async () => {
    const store = await createSqliteStore({ path: ':memory:' });
    await store.transaction(async () => {
      await assert.rejects(store.get('SELECT 1'), withCode('E_STORE'));
      await assert.rejects(
        store.transaction(() => Promise.resolve()),
        withCode('E_STORE'),
      );
    });
    assert.deepEqual(await store.get('SELECT 1 AS one'), { one: 1 }, 'usable afterwards');
    await store.close();
  });

  void it('reports a write blocked by another connection as a retryable E_STORE once busy_timeout passes', async () => {
    const path = freshPath();
    const [a, b] = [await createSqliteStore({ path }), await createSqliteStore({ path, busyTimeoutMs: 0 })];
    await a.run('CREATE TABLE t (id TEXT)');
    await a.transaction(async (tx) => {
      await tx.run("INSERT INTO t VALUES ('a')");
      const error: unknown = await b.run("INSERT INTO t VALUES ('b')").catch((e: unknown) => e);
      assert.ok(isStrataError(error) && error.code === 'E_STORE' && error.retryable, String(error));
    });
    assert.deepEqual(await b.all('SELECT id FROM t'), [{ id: 'a' }]);
    await Promise.all([a.close(), b.close()]);
  });

  void it('names the violated columns in E_CONFLICT data', async () => {
    const store = await createSqliteStore({ path: ':memory:' });
    await store.run('CREATE TABLE t (a TEXT, b TEXT, UNIQUE (a, b))');
    await store.run("INSERT INTO t VALUES ('x', 'y')");
    const error: unknown = await store.run("INSERT INTO t VALUES ('x', 'y')").catch((e: unknown) => e);
    assert.ok(isStrataError(error));
    assert.deepEqual(error.data, { constraint: 't.a, t.b' });
    await store.close();
  });

  // The cost of this path is measured by `npm run bench -- syscall` (target: < 50 µs overhead per
  // call on SQLite, audit insert included), not timed here: a timed test fails on a loaded machine.
  void it('the single-row insert fast path (the syscall audit path): WAL + NORMAL, each insert committed, one prepared statement', async () => {
    const path = freshPath();
    const store = await createSqliteStore({ path });
    await store.run(
      'CREATE TABLE audit (id INTEGER PRIMARY KEY, at BIGINT, name TEXT, ok INTEGER, args BLOB)',
    );
    assert.deepEqual(
      [await store.get('PRAGMA journal_mode'), await store.get('PRAGMA synchronous')],
      [{ journal_mode: 'wal' }, { synchronous: 1 }],
      'commits append to the WAL without an fsync each',
    );
    const insert = 'INSERT INTO audit (at, name, ok, args) VALUES (?, ?, ?, ?)';
    const observer = new Database(path, { readonly: true });
    const count = observer.prepare<[], { n: number }>('SELECT count(*) AS n FROM audit');
    for (let i = 1; i <= 500; i++) {
      await store.run(insert, [i, 'kernel.noop', true, Buffer.from('{}')]);
      if (i % 100 === 0) assert.equal(count.get()?.n, i, 'each insert is committed on its own');
    }
    assert.ok(existsSync(`${path}-wal`), 'written through the WAL file');
    observer.close();
    await store.close();

    // The driver prepares a statement once and reuses it: the hot path never re-parses SQL.
    const db = new Database(':memory:');
    const prepare = db.prepare.bind(db);
    let prepared = 0;
    db.prepare = (sql: string) => {
      if (sql === insert) prepared++;
      return prepare(sql);
    };
    const conn = new SqliteConnection(db);
    conn.exec('CREATE TABLE audit (id INTEGER PRIMARY KEY, at BIGINT, name TEXT, ok INTEGER, args BLOB)');
    for (let i = 0; i < 100; i++) conn.run(insert, [i, 'kernel.noop', true, Buffer.from('{}')]);
    assert.deepEqual([prepared, conn.get('SELECT count(*) AS n FROM audit', [])], [1, { n: 100 }]);
    conn.close();
  });

  void it('fails to open an unusable path with E_STORE', async () => {
    await assert.rejects(createSqliteStore({ path: dir }), withCode('E_STORE'));
  });
});

describeStoreConformance('sqlite (memory)', async () => {
  const store = await createSqliteStore({ path: ':memory:' });
  return { store, close: () => store.close() };
});

describeStoreConformance('sqlite (WAL file)', async () => {
  const store = await createSqliteStore({ path: freshPath() });
  return { store, close: () => store.close() };
});
