/**
 * @module testkit/store-conformance/migrations
 * Migrations: applied in order once, bookkept in `strata_migrations`, validated before anything
 * runs, all-or-nothing per migration, and refused when the database is newer than the code.
 */
import assert from 'node:assert/strict';
import type { Migration } from '../../kernel/store/store.ts';
import { rejectsWith, type ConformanceContext } from './context.ts';

/** v1 creates a table, v2 adds a row to it; `n` more migrations each add one more row. */
function ladder(table: string, extra = 0): Migration[] {
  const migrations: Migration[] = [
    { version: 1, name: 'create', up: `CREATE TABLE ${table} (id TEXT PRIMARY KEY, note TEXT)` },
    {
      version: 2,
      name: 'seed',
      up: `INSERT INTO ${table} (id, note) VALUES ('a', 'first'); INSERT INTO ${table} (id) VALUES ('b')`,
    },
  ];
  for (let i = 0; i < extra; i++) {
    migrations.push({ version: 3 + i, name: `row ${i}`, up: `INSERT INTO ${table} (id) VALUES ('x${i}')` });
  }
  return migrations;
}

export function migrationTests({ store, unique, test }: ConformanceContext): void {
  const count = async (table: string) =>
    (await store().get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n;

  test('applies pending migrations in order and records each one', async () => {
    const layer = unique('layer');
    const table = unique('mig');
    const report = await store().migrate(layer, ladder(table));
    assert.deepEqual(report, { layer, applied: [1, 2], current: 2 });
    assert.equal(await count(table), 2);
    const rows = await store().all<{ version: number; name: string; applied_at: number }>(
      'SELECT version, name, applied_at FROM strata_migrations WHERE layer = ? ORDER BY version',
      [layer],
    );
    assert.deepEqual(
      rows.map((r) => [r.version, r.name]),
      [
        [1, 'create'],
        [2, 'seed'],
      ],
    );
    assert.ok(rows.every((r) => typeof r.applied_at === 'number' && r.applied_at > 0));
  });

  test('re-running is a no-op and later runs apply only new migrations', async () => {
    const layer = unique('layer');
    const table = unique('mig');
    await store().migrate(layer, ladder(table));
    assert.deepEqual(await store().migrate(layer, ladder(table)), { layer, applied: [], current: 2 });
    assert.deepEqual(await store().migrate(layer, ladder(table, 1)), { layer, applied: [3], current: 3 });
    assert.equal(await count(table), 3);
  });

  test('layers keep separate versions', async () => {
    const [a, b] = [unique('layer'), unique('layer')];
    await store().migrate(a, ladder(unique('mig'), 1));
    assert.deepEqual((await store().migrate(b, ladder(unique('mig')))).applied, [1, 2]);
  });

  test('versions with a gap, a duplicate or out of order are rejected before anything runs', async () => {
    const table = unique('mig');
    const [one, two] = ladder(table) as [Migration, Migration];
    for (const bad of [[one, { ...two, version: 3 }], [one, one], [two, one], [{ ...one, version: 0 }]]) {
      const error = await rejectsWith(store().migrate(unique('layer'), bad), 'E_MIGRATION');
      assert.match(error.message, /1\.\.n/);
    }
    await assert.rejects(store().get(`SELECT * FROM ${table}`), 'the valid v1 must not have run either');
  });

  test('a failing migration is rolled back whole, reported with its layer and version, and can be retried', async () => {
    const layer = unique('layer');
    const table = unique('mig');
    const half = unique('half');
    const broken: Migration = {
      version: 3,
      name: 'half applied?',
      up: `CREATE TABLE ${half} (id TEXT); INSERT INTO ${table} (id) VALUES ('c'); INSERT INTO no_such_table_${half} VALUES (1)`,
    };
    const error = await rejectsWith(store().migrate(layer, [...ladder(table), broken]), 'E_MIGRATION');
    assert.deepEqual(error.data, { layer, version: 3, name: 'half applied?' });
    assert.ok(error.cause !== undefined, 'the driver error is kept on cause');
    assert.ok(error.message.includes(layer) && error.message.includes('v3'));
    assert.equal(await count(table), 2, 'v1 and v2 stay applied; the row v3 inserted is gone');
    await assert.rejects(store().get(`SELECT * FROM ${half}`), 'the table v3 created is gone');
    const fixed = { ...broken, up: `CREATE TABLE ${half} (id TEXT)` };
    assert.deepEqual((await store().migrate(layer, [...ladder(table), fixed])).applied, [3]);
  });

  test('a database newer than the code is refused', async () => {
    const layer = unique('layer');
    const table = unique('mig');
    await store().migrate(layer, ladder(table, 1));
    const error = await rejectsWith(store().migrate(layer, ladder(table)), 'E_MIGRATION');
    assert.match(error.message, /at version 3, this code knows 2; upgrade Strata/);
  });

  test('the SQL for the store dialect is the one that runs', async () => {
    const table = unique('mig');
    const up = {
      sqlite: `CREATE TABLE ${table} (engine TEXT DEFAULT 'sqlite')`,
      postgres: `CREATE TABLE ${table} (engine TEXT DEFAULT 'postgres')`,
    };
    await store().migrate(unique('layer'), [{ version: 1, name: 'per dialect', up }]);
    await store().run(`INSERT INTO ${table} DEFAULT VALUES`);
    assert.equal((await store().get(`SELECT engine FROM ${table}`))?.['engine'], store().dialect);
  });

  test('concurrent migrate calls apply each migration exactly once', async () => {
    const layer = unique('layer');
    const table = unique('mig');
    const reports = await Promise.all([1, 2, 3].map(() => store().migrate(layer, ladder(table, 2))));
    assert.deepEqual(
      reports.flatMap((r) => r.applied).sort((x, y) => x - y),
      [1, 2, 3, 4],
    );
    assert.ok(reports.every((r) => r.current === 4));
    assert.equal(await count(table), 4);
  });
}
