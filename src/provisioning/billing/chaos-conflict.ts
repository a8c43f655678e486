/**
 * @module provisioning/billing/chaos-conflict
 * Realises chaos's `ledger_conflict` fault (kernel/chaos): a ledger reservation meets a real
 * concurrent write to the accounts it holds against, and loses it the way the store makes it lose.
 * The ledger locks rows (no version column to compare), so the losing path is the database's own:
 *
 * - PostgreSQL: the reservation's transaction reads the accounts at REPEATABLE READ, another
 *   connection then updates and commits them, and the reservation's row lock fails with a real
 *   serialization failure (SQLSTATE 40001: "could not serialize access due to concurrent update");
 * - SQLite (a file): another connection — another process, in production — holds the write lock
 *   while it updates the accounts, and the reservation's BEGIN IMMEDIATE gives up after the store's
 *   busy timeout with SQLITE_BUSY. better-sqlite3 waits synchronously, so this process stalls for
 *   that long, exactly as under real contention from another process.
 *
 * Both reach the caller as the store's retryable E_STORE (`data.driverCode` says which), nothing
 * was held, and the concurrent write commits: the pipeline's retry of an idempotent syscall
 * (`provision.create`) reserves again. An in-memory SQLite database has no second connection, so
 * there the fault is never taken (its audit mark says `realised: false`).
 */
import {
  chaosFaultPlanned,
  openStore,
  takeChaosFault,
  type Store,
  type Transaction,
} from '../../kernel/index.ts';

/** A write to the accounts that changes no amount: a concurrent writer's row versions, nothing more. */
const touch = (ids: readonly string[]): string =>
  `UPDATE bill_accounts SET debits_pending = debits_pending WHERE id IN (${ids.map(() => '?').join(', ')})`;

/**
 * `store.transaction(fn)` for a reservation on `accountIds`; under a planned `ledger_conflict`
 * a concurrent write to those accounts makes it fail as described above.
 */
export async function reservationTransaction<T>(
  store: Store,
  accountIds: readonly string[],
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  if (!chaosFaultPlanned('provisioning', 'ledger_conflict')) return store.transaction(fn);
  const ids = [...new Set(accountIds)];
  if (store.dialect === 'postgres') {
    takeChaosFault('provisioning', 'ledger_conflict');
    return store.transaction(async (tx) => {
      await tx.run('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await tx.all(`SELECT id FROM bill_accounts WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
      // Outside the transaction: another pooled connection, committed before the reservation locks.
      await store.run(touch(ids), ids);
      return fn(tx);
    });
  }
  const path = (store as { path?: string }).path;
  if (path === undefined || path === '' || path === ':memory:') return store.transaction(fn);
  takeChaosFault('provisioning', 'ledger_conflict');
  const other = await openStore(`sqlite:${path}`);
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding = (): void => undefined;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const writer = other.transaction(async (tx) => {
    await tx.run(touch(ids), ids);
    holding();
    await released;
  });
  try {
    await Promise.race([held, writer]);
    return await store.transaction(fn);
  } finally {
    release();
    await writer.finally(() => other.close());
  }
}
