/**
 * @module testkit/store-conformance/values
 * The portable column types of store.ts: what goes in comes back with the same JS type on every
 * engine. These are the differences that bite when code written against SQLite meets PostgreSQL
 * (int8 as string, booleans, bytes).
 */
import assert from 'node:assert/strict';
import type { SqlValue } from '../../kernel/store/store.ts';
import { bytesType, type ConformanceContext } from './context.ts';

export function valueTests({ store, unique, test }: ConformanceContext): void {
  /** A one-column table `id, v <type>`; `roundTrip` inserts a value and reads it back. */
  async function column(type: string) {
    const table = unique('val');
    await store().run(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, v ${type})`);
    let id = 0;
    const roundTrip = async (value: SqlValue): Promise<unknown> => {
      await store().run(`INSERT INTO ${table} (id, v) VALUES (?, ?)`, [++id, value]);
      return (await store().get(`SELECT v FROM ${table} WHERE id = ?`, [id]))?.['v'];
    };
    return { table, roundTrip };
  }

  test('BIGINT returns integers up to 2^53−1 as JS numbers, bigint params included', async () => {
    const { table, roundTrip } = await column('BIGINT');
    const values = [
      0,
      -1,
      2 ** 31,
      2 ** 32 + 1,
      Date.UTC(2100, 0, 1),
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
    ];
    for (const value of values) assert.equal(await roundTrip(value), value);
    assert.equal(await roundTrip(2n ** 40n), 2 ** 40);
    const stats = await store().get(`SELECT COUNT(*) AS n, MAX(v) AS top, MIN(id) AS low FROM ${table}`);
    assert.deepEqual(stats, { n: values.length + 1, top: Number.MAX_SAFE_INTEGER, low: 1 });
  });

  test('booleans bind as INTEGER 0/1 and read back as numbers', async () => {
    const { table, roundTrip } = await column('INTEGER NOT NULL');
    assert.equal(await roundTrip(true), 1);
    assert.equal(await roundTrip(false), 0);
    const matched = await store().all(`SELECT id FROM ${table} WHERE v = ?`, [true]);
    assert.deepEqual(matched, [{ id: 1 }]);
  });

  test('JSON is stored as TEXT and comes back as the same string', async () => {
    const { roundTrip } = await column('TEXT');
    const json = JSON.stringify({ a: [1, 2.5, null], nested: { ok: true }, s: 'quote " and \\ backslash' });
    const back = await roundTrip(json);
    assert.equal(back, json);
    assert.deepEqual(JSON.parse(back), JSON.parse(json));
  });

  test('bytes round-trip as Buffer, from Buffer or Uint8Array', async () => {
    const { roundTrip } = await column(bytesType(store()));
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const back = await roundTrip(all);
    assert.ok(Buffer.isBuffer(back), 'a Buffer, not a string or a plain Uint8Array');
    assert.ok(back.equals(all));
    const fromView = await roundTrip(new Uint8Array([0, 255, 7]));
    assert.ok(Buffer.isBuffer(fromView) && fromView.equals(Buffer.from([0, 255, 7])));
    const empty = await roundTrip(Buffer.alloc(0));
    assert.ok(Buffer.isBuffer(empty) && empty.length === 0, 'empty bytes are not NULL');
  });

  test('NULL binds and reads back as null, and matches IS NULL', async () => {
    const { table, roundTrip } = await column('TEXT');
    assert.equal(await roundTrip(null), null);
    await roundTrip('not null');
    assert.deepEqual(await store().all(`SELECT id FROM ${table} WHERE v IS NULL`), [{ id: 1 }]);
  });

  test('unicode text round-trips unchanged', async () => {
    const { roundTrip } = await column('TEXT');
    for (const text of [
      'héllo wörld',
      '日本語のテキスト',
      'emoji 🧪🚀👩‍👩‍👧',
      'עברית RTL',
      'e\u0301 combining',
      'it\'s "quoted"',
    ]) {
      assert.equal(await roundTrip(text), text);
    }
  });

  test('numeric-looking text stays text', async () => {
    const { roundTrip } = await column('TEXT');
    assert.equal(await roundTrip('0012'), '0012', 'no numeric coercion of text');
  });
}
