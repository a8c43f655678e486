/**
 * @module testkit/store-conformance/crud
 * Statements outside transactions: all/get/run and `changes`, RETURNING, `?` handling, conflicts
 * mapped to E_CONFLICT without leaking values, keyset pagination over ties.
 */
import assert from 'node:assert/strict';
import { rejectsWith, type ConformanceContext } from './context.ts';

export function crudTests({ store, unique, test }: ConformanceContext): void {
  async function items(): Promise<string> {
    const table = unique('items');
    await store().run(
      `CREATE TABLE ${table} (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty BIGINT NOT NULL, CHECK (qty >= 0))`,
    );
    return table;
  }

  test('all, get and run read and write rows, and run reports changes', async () => {
    const t = await items();
    assert.deepEqual(
      await store().run(`INSERT INTO ${t} (id, name, qty) VALUES (?, ?, ?), (?, ?, ?)`, [
        'a',
        'apple',
        1,
        'b',
        'bean',
        2,
      ]),
      { changes: 2 },
    );
    assert.deepEqual(await store().all(`SELECT id, name, qty FROM ${t} ORDER BY id`), [
      { id: 'a', name: 'apple', qty: 1 },
      { id: 'b', name: 'bean', qty: 2 },
    ]);
    assert.deepEqual(await store().get(`SELECT name FROM ${t} WHERE id = ?`, ['b']), { name: 'bean' });
    assert.deepEqual(await store().run(`UPDATE ${t} SET qty = qty + 1`), { changes: 2 });
    assert.deepEqual(await store().run(`UPDATE ${t} SET qty = 0 WHERE id = ?`, ['nope']), { changes: 0 });
    assert.deepEqual(await store().run(`DELETE FROM ${t} WHERE id = ?`, ['a']), { changes: 1 });
    assert.deepEqual(await store().all(`SELECT id, qty FROM ${t}`), [{ id: 'b', qty: 3 }]);
  });

  test('get returns undefined and all returns [] when nothing matches; all on a write returns []', async () => {
    const t = await items();
    assert.equal(await store().get(`SELECT * FROM ${t} WHERE id = ?`, ['none']), undefined);
    assert.deepEqual(await store().all(`SELECT * FROM ${t}`), []);
    assert.deepEqual(await store().all(`INSERT INTO ${t} (id, name, qty) VALUES ('x', 'x', 0)`), []);
    assert.equal(await store().get(`DELETE FROM ${t} WHERE id = 'x'`), undefined);
    assert.equal(await store().get(`SELECT id FROM ${t}`), undefined, 'get on a write still ran it');
  });

  test('RETURNING rows come back from all and get, and count as changes in run', async () => {
    const t = await items();
    const rows = await store().all(`INSERT INTO ${t} (id, name, qty) VALUES (?, ?, ?) RETURNING id, qty`, [
      'r',
      'r',
      5,
    ]);
    assert.deepEqual(rows, [{ id: 'r', qty: 5 }]);
    assert.deepEqual(await store().get(`UPDATE ${t} SET qty = qty * 2 WHERE id = ? RETURNING qty`, ['r']), {
      qty: 10,
    });
    assert.deepEqual(await store().run(`DELETE FROM ${t} WHERE id = ? RETURNING id`, ['r']), { changes: 1 });
  });

  test('a ? inside a string literal, quoted identifier or comment is not a placeholder', async () => {
    const t = await items();
    await store().run(`INSERT INTO ${t} (id, name, qty) VALUES ('why?', ?, ?) -- trailing comment?`, [
      'a?b',
      1,
    ]);
    const row = await store().get(
      `SELECT id AS "q?", name, 'it''s ?' AS lit /* a ? here */ FROM ${t} WHERE name = ? AND id = 'why?'`,
      ['a?b'],
    );
    assert.deepEqual(row, { 'q?': 'why?', name: 'a?b', lit: "it's ?" });
  });

  test('a unique or primary-key violation is E_CONFLICT with the driver error as cause; the store stays usable', async () => {
    const t = await items();
    await store().run(`INSERT INTO ${t} (id, name, qty) VALUES (?, ?, ?)`, ['a', 'apple', 1]);
    for (const [id, name] of [
      ['a', 'other'],
      ['b', 'apple'],
    ] as const) {
      const error = await rejectsWith(
        store().run(`INSERT INTO ${t} (id, name, qty) VALUES (?, ?, 1)`, [id, name]),
        'E_CONFLICT',
      );
      assert.ok(error.cause instanceof Error, 'the driver error is on cause');
      assert.equal(error.retryable, false);
    }
    assert.deepEqual(await store().run(`INSERT INTO ${t} (id, name, qty) VALUES ('b', 'bean', 1)`), {
      changes: 1,
    });
  });

  test('errors never echo bound values, which may be secrets', async () => {
    const t = await items();
    const secret = 'sk-live-0123456789';
    await store().run(`INSERT INTO ${t} (id, name, qty) VALUES (?, ?, 1)`, ['a', secret]);
    const conflict = await rejectsWith(
      store().run(`INSERT INTO ${t} (id, name, qty) VALUES ('b', ?, 1)`, [secret]),
      'E_CONFLICT',
    );
    const check = await rejectsWith(
      store().run(`UPDATE ${t} SET qty = ? WHERE name = ?`, [-1, secret]),
      'E_STORE',
    );
    for (const error of [conflict, check])
      assert.ok(!JSON.stringify(error.toJSON()).includes(secret), error.message);
  });

  test('other failures are E_STORE with the driver error as cause', async () => {
    const error = await rejectsWith(store().all(`SELECT * FROM ${unique('missing')}`), 'E_STORE');
    assert.ok(error.cause instanceof Error);
    await rejectsWith(store().run('SELECT 1; SELECT 2'), 'E_STORE');
    assert.deepEqual(await store().get('SELECT 1 AS one'), { one: 1 });
  });

  test('keyset pagination over tied sort keys returns every row exactly once', async () => {
    const t = unique('page');
    await store().run(`CREATE TABLE ${t} (id TEXT PRIMARY KEY, created_at BIGINT NOT NULL)`);
    const ids = Array.from({ length: 23 }, (_, i) => `id-${String(i).padStart(2, '0')}`);
    for (const [i, id] of [...ids].reverse().entries()) {
      await store().run(`INSERT INTO ${t} (id, created_at) VALUES (?, ?)`, [id, 1000 + Math.floor(i / 5)]); // runs of 5 ties
    }
    const seen: string[] = [];
    type Cursor = { created_at: number; id: string };
    let cursor: Cursor | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = cursor
        ? await store().all<Cursor>(
            `SELECT id, created_at FROM ${t} WHERE created_at > ? OR (created_at = ? AND id > ?) ORDER BY created_at, id LIMIT ?`,
            [cursor.created_at, cursor.created_at, cursor.id, 4],
          )
        : await store().all<Cursor>(`SELECT id, created_at FROM ${t} ORDER BY created_at, id LIMIT ?`, [4]);
      if (page.length === 0) break;
      seen.push(...page.map((row) => row.id));
      cursor = page.at(-1);
    }
    assert.equal(seen.length, ids.length);
    assert.deepEqual([...seen].sort(), ids);
  });
}
