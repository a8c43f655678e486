/**
 * An agent's integration test of its fix, on a scratch database of its own: provisioned for the
 * test (`provision.create`, kind `sqlite`: a real database file, metered), the issue's order
 * written and totalled in SQL, then destroyed (`provision.destroy`). Journaled: a run resumed on
 * another worker does not provision twice, and still destroys what it made.
 */
import Database from 'better-sqlite3';
import type { WorkflowContext } from '../../src/orchestration/index.ts';
import type { Issue } from './issues.ts';

export async function integrationTest(
  ctx: WorkflowContext,
  issue: Issue,
  expected: number,
): Promise<boolean> {
  const db = await ctx.syscall<{ name: string; env: Record<string, string> }>('provision.create', {
    kind: 'sqlite',
    name: `it-${issue.number}-${ctx.runId.slice(-8).toLowerCase()}`,
    labels: { purpose: 'integration-test' },
    ttlMinutes: 30, // reclaimed by the sweeper even if nobody destroys it
  });
  const passed = await ctx.step('integration test', () => {
    const sql = new Database(db.env['SQLITE_PATH'] ?? '');
    try {
      sql.exec(
        'CREATE TABLE IF NOT EXISTS lines (cents INTEGER NOT NULL, qty INTEGER NOT NULL); DELETE FROM lines',
      );
      const insert = sql.prepare('INSERT INTO lines (cents, qty) VALUES (?, ?)');
      for (const line of issue.lines) insert.run(line.cents, line.qty);
      const row = sql.prepare('SELECT SUM(cents * qty) AS total FROM lines').get() as { total: number };
      return row.total === expected;
    } finally {
      sql.close();
    }
  });
  await ctx.syscall('provision.destroy', { resource: db.name });
  return passed;
}
