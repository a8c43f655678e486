// PostgreSQL driver: placeholder rewriting, int8 parsing, error mapping, real pool concurrency and
// concurrent migration from two processes' worth of pools, then the shared conformance suite.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { isStrataError } from '../../../errors.ts';
import { createTestDatabase, type TestDatabase } from '../../../../testkit/pg.ts';
import { describeStoreConformance } from '../../../../testkit/store-conformance.ts';
import type { Migration } from '../../store.ts';
import { toStoreError } from './driver.ts';
import { createPostgresStore, type PostgresStore } from './index.ts';
import { rewritePlaceholders } from './placeholders.ts';

const withCode = (code: string) => (error: unknown) => isStrataError(error) && error.code === code;

void describe('rewritePlaceholders', () => {
  const cases: [string, string][] = [
    ['SELECT 1', 'SELECT 1'],
    ['SELECT * FROM t WHERE a = ? AND b IN (?, ?)', 'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)'],
    ["SELECT '?', ? FROM t", "SELECT '?', $1 FROM t"],
    ["SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"],
    ["SELECT E'\\' ?', ?", "SELECT E'\\' ?', $1"],
    ["SELECT 'a\\', ?", "SELECT 'a\\', $1"], // standard strings: backslash is no escape
    ['SELECT "col?" FROM t WHERE x = ?', 'SELECT "col?" FROM t WHERE x = $1'],
    ['SELECT "a""?" , ?', 'SELECT "a""?" , $1'],
    ['SELECT ? -- why?\n, ?', 'SELECT $1 -- why?\n, $2'],
    ['SELECT /* ? /* nested ? */ still ? */ ?', 'SELECT /* ? /* nested ? */ still ? */ $1'],
    ['SELECT $$ ? $$, $tag$ ? $$ ? $tag$, ?', 'SELECT $$ ? $$, $tag$ ? $$ ? $tag$, $1'],
    ['SELECT a$b, ?', 'SELECT a$b, $1'],
    ["SELECT '?", "SELECT '?"], // unterminated: left for the server to reject
  ];
  for (const [input, expected] of cases) {
    void it(`rewrites ${JSON.stringify(input)}`, () => assert.equal(rewritePlaceholders(input), expected));
  }
});

void describe('postgres error mapping', () => {
  const pgError = (code: string, extra: Record<string, string> = {}) =>
    Object.assign(new Error(`driver says ${code}`), { code, ...extra });

  void it('maps 23505 to E_CONFLICT naming the constraint, keeping the cause', () => {
    const cause = pgError('23505', { constraint: 't_name_key', table: 't', detail: 'Key (name)=(secret)' });
    const error = toStoreError(cause);
    assert.equal(error.code, 'E_CONFLICT');
    assert.deepEqual(error.data, { constraint: 't_name_key', table: 't' });
    assert.equal(error.cause, cause);
    assert.ok(!error.message.includes('secret'));
  });

  void it('marks serialization failures, deadlocks and lost connections retryable, other errors not', () => {
    for (const code of ['40001', '40P01', '08006', '57P01', 'ECONNREFUSED']) {
      const error = toStoreError(pgError(code));
      assert.ok(error.code === 'E_STORE' && error.retryable, code);
    }
    for (const code of ['42P01', '23502', '22P02', '08P01'])
      assert.equal(toStoreError(pgError(code)).retryable, false, code);
  });

  void it('keeps the text of data exceptions, which quote the input, out of the message', () => {
    const cause = new Error('invalid input syntax for type integer: "hunter2"');
    const error = toStoreError(Object.assign(cause, { code: '22P02' }));
    assert.ok(!error.message.includes('hunter2'), error.message);
    assert.equal(error.cause, cause);
  });
});

void describe('postgres driver', () => {
  let db: TestDatabase;
  let store: PostgresStore;
  before(async () => {
    db = await createTestDatabase();
    store = await createPostgresStore({ connectionString: db.url, poolSize: 5 });
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  void it('returns BIGINT and COUNT(*) as numbers without touching the global pg type parsers', async () => {
    assert.deepEqual(await store.get('SELECT COUNT(*) AS n, 9007199254740991::bigint AS max'), {
      n: 1,
      max: Number.MAX_SAFE_INTEGER,
    });
    const globalInt8 = pg.types.getTypeParser(20) as (text: string) => unknown;
    assert.equal(globalInt8('5'), '5', 'other pg users still get strings');
  });

  void it('raises E_STORE rather than rounding a BIGINT beyond 2^53−1, and stays usable', async () => {
    for (const value of ['9007199254740992', '-9007199254740992']) {
      await assert.rejects(store.get(`SELECT ${value}::bigint AS v`), withCode('E_STORE'));
    }
    await assert.rejects(
      store.transaction((tx) => tx.get('SELECT 9223372036854775807::bigint AS v')),
      withCode('E_STORE'),
    );
    assert.deepEqual(await store.get('SELECT 1 AS ok'), { ok: 1 });
  });

  void it('answers urgent statements (lease renewals) while every pooled connection waits on a lock', async () => {
    await store.run('CREATE TABLE urgent_probe (id INT PRIMARY KEY, n INT NOT NULL)');
    await store.run('INSERT INTO urgent_probe VALUES (1, 0)');
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked = (): void => undefined;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const locker = store.transaction(async (tx) => {
      await tx.run('UPDATE urgent_probe SET n = n + 1 WHERE id = 1');
      locked();
      await held;
    });
    await lockTaken; // not a fixed sleep: the others must queue behind this lock, however slow
    // Four more transactions block on the row lock: the pool of five is exhausted.
    const blocked = Array.from({ length: 4 }, () =>
      store.transaction((tx) => tx.run('UPDATE urgent_probe SET n = n + 1 WHERE id = 1')),
    );
    const lockWaits =
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
    for (const deadline = Date.now() + 15_000; ; await new Promise((r) => setTimeout(r, 20))) {
      const waiting = await store.urgent?.get<{ n: number }>(lockWaits);
      if (waiting?.n === 4) break;
      assert.ok(Date.now() < deadline, `${waiting?.n} of 4 transactions wait on the lock`);
    }
    const pooled = Promise.race([
      store.get('SELECT 1 AS ok').then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('queued'), 300)),
    ]);
    assert.equal(await pooled, 'queued', 'the pool is exhausted');
    assert.deepEqual(await store.urgent?.get('SELECT 2 AS ok'), { ok: 2 }, 'the urgent lane answers');
    release();
    await Promise.all([locker, ...blocked]);
    assert.deepEqual(await store.get('SELECT n FROM urgent_probe'), { n: 5 });
  });

  void it('runs statements on several pooled connections at once', async () => {
    const start = performance.now();
    await Promise.all(Array.from({ length: 5 }, () => store.get('SELECT pg_sleep(0.2)')));
    const elapsed = performance.now() - start;
    assert.ok(elapsed < 600, `5 × 200 ms sleeps took ${elapsed.toFixed(0)} ms; the pool is not concurrent`);
  });

  void it('runs transactions concurrently, each on its own connection', async () => {
    let open = 0;
    let maxOpen = 0;
    const pids = await Promise.all(
      Array.from({ length: 3 }, () =>
        store.transaction(async (tx) => {
          maxOpen = Math.max(maxOpen, ++open);
          const row = await tx.get<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.05)');
          open--;
          return row?.pid;
        }),
      ),
    );
    assert.equal(maxOpen, 3);
    assert.equal(new Set(pids).size, 3);
  });

  void it('migrates safely when two processes (two pools) migrate the same layer at once', async () => {
    const other = await createPostgresStore({ connectionString: db.url });
    const migrations: Migration[] = [
      { version: 1, name: 'create', up: 'CREATE TABLE race (id SERIAL PRIMARY KEY, note TEXT)' },
      { version: 2, name: 'slow seed', up: "SELECT pg_sleep(0.1); INSERT INTO race (note) VALUES ('once')" },
    ];
    try {
      const reports = await Promise.all([
        store.migrate('race', migrations),
        other.migrate('race', migrations),
      ]);
      assert.deepEqual(reports.flatMap((r) => r.applied).sort(), [1, 2]);
      assert.deepEqual(await store.all('SELECT note FROM race'), [{ note: 'once' }]);
    } finally {
      await other.close();
    }
  });

  void it('LISTEN survives its connection being killed: no crash, a look-again call, then notifications again', async () => {
    const received: string[] = [];
    const stop = await store.listen('wake_test', (payload) => received.push(payload));
    const until = async (predicate: () => boolean): Promise<void> => {
      for (const deadline = Date.now() + 5_000; !predicate(); await new Promise((r) => setTimeout(r, 10)))
        if (Date.now() > deadline) throw new Error(`gave up; received ${JSON.stringify(received)}`);
    };
    try {
      await store.run("SELECT pg_notify('wake_test', 'one')");
      await until(() => received.includes('one'));
      // The listening backend is the one that ran LISTEN: kill it as an admin or a failover would.
      const killed = await store.get<{ n: number }>(
        `SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN wake_test%'`,
      );
      assert.equal(killed?.n, 1, 'the listening connection was found and terminated');
      await until(() => received.includes(''));
      await store.run("SELECT pg_notify('wake_test', 'two')");
      await until(() => received.includes('two'));
      assert.deepEqual(received, ['one', '', 'two']);
    } finally {
      await stop();
    }
    await store.run("SELECT pg_notify('wake_test', 'three')");
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!received.includes('three'), 'nothing arrives after stop');
  });

  void it('fails fast with a retryable E_STORE when the server is unreachable', async () => {
    const error: unknown = await createPostgresStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/x',
    }).catch((e: unknown) => e);
    assert.ok(isStrataError(error) && error.code === 'E_STORE' && error.retryable, String(error));
  });
});

describeStoreConformance('postgres', async () => {
  const db = await createTestDatabase();
  const store = await createPostgresStore({ connectionString: db.url });
  return {
    store,
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
});
