/**
 * @module kernel/store/drivers/shared/migrate
 * The migration runner both drivers use; a driver only supplies {@link MigrationHost.exclusive}, a
 * transaction that no other process can run at the same time for migrations (SQLite: `BEGIN
 * IMMEDIATE`; PostgreSQL: an advisory lock). Bookkeeping lives in `strata_migrations`, one row per
 * applied (layer, version).
 *
 * Why one transaction per migration, re-reading the version inside it: a crash or a failing
 * migration leaves every earlier migration applied and nothing of the failing one, and a second
 * process that raced us simply finds the work done and skips it.
 */
import { StrataError } from '../../../errors.ts';
import {
  migrationSql,
  type Dialect,
  type Migration,
  type MigrationReport,
  type Queryable,
} from '../../store.ts';

/** A transaction handle that can also run multi-statement SQL (migrations carry several statements). */
export interface MigrationTx extends Queryable {
  exec(sql: string): Promise<void>;
}

export interface MigrationHost {
  readonly dialect: Dialect;
  /** Runs `fn` in a transaction that excludes every other migrating process on this database. */
  exclusive<T>(fn: (tx: MigrationTx) => Promise<T>): Promise<T>;
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS strata_migrations (
  layer TEXT NOT NULL,
  version BIGINT NOT NULL,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  PRIMARY KEY (layer, version)
)`;

export async function runMigrations(
  host: MigrationHost,
  layer: string,
  migrations: readonly Migration[],
): Promise<MigrationReport> {
  validate(layer, migrations);
  const known = migrations.length;
  const start = await host.exclusive(async (tx) => {
    await tx.exec(CREATE_TABLE);
    return currentVersion(tx, layer);
  });
  assertNotNewer(layer, start, known);

  const applied: number[] = [];
  for (const migration of migrations.slice(start)) {
    const didApply = await host.exclusive(async (tx) => {
      const current = await currentVersion(tx, layer);
      assertNotNewer(layer, current, known);
      if (current >= migration.version) return false; // another process got here first
      try {
        await tx.exec(migrationSql(migration, host.dialect));
        await tx.run('INSERT INTO strata_migrations (layer, version, name, applied_at) VALUES (?, ?, ?, ?)', [
          layer,
          migration.version,
          migration.name,
          Date.now(),
        ]);
      } catch (error) {
        throw new StrataError(
          'E_MIGRATION',
          `migration ${layer} v${migration.version} "${migration.name}" failed and was rolled back; fix it and restart`,
          { layer, version: migration.version, name: migration.name },
          { cause: error },
        );
      }
      return true;
    });
    if (didApply) applied.push(migration.version);
  }
  return { layer, applied, current: known };
}

function validate(layer: string, migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StrataError(
        'E_MIGRATION',
        `migrations of layer ${layer} must be numbered 1..n in order without gaps; position ${index + 1} has version ${migration.version}`,
        { layer, version: migration.version, name: migration.name, expected: index + 1 },
      );
    }
  });
}

async function currentVersion(tx: Queryable, layer: string): Promise<number> {
  const row = await tx.get<{ v: number | null }>(
    'SELECT MAX(version) AS v FROM strata_migrations WHERE layer = ?',
    [layer],
  );
  return row?.v ?? 0;
}

function assertNotNewer(layer: string, current: number, known: number): void {
  if (current > known) {
    throw new StrataError(
      'E_MIGRATION',
      `database schema for layer ${layer} is at version ${current}, this code knows ${known}; upgrade Strata`,
      { layer, version: current, known },
    );
  }
}
