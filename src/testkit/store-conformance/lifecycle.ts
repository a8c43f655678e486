/**
 * @module testkit/store-conformance/lifecycle
 * Closing: in-flight work finishes first, close() can be called any number of times, and a closed
 * store refuses work with E_STORE instead of hanging or crashing.
 */
import assert from 'node:assert/strict';
import { rejectsWith, type ConformanceContext } from './context.ts';

export function lifecycleTests({ privateStore, unique, test }: ConformanceContext): void {
  test('close() lets an in-flight transaction finish, is idempotent, and later calls fail with E_STORE', async () => {
    const store = await privateStore();
    const t = unique('life');
    await store.run(`CREATE TABLE ${t} (id TEXT PRIMARY KEY)`);
    const events: string[] = [];
    const inFlight = store.transaction(async (tx) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      await tx.run(`INSERT INTO ${t} (id) VALUES (?)`, ['a']);
      events.push('committed');
      return 'done';
    });
    await new Promise((resolve) => setImmediate(resolve)); // let the transaction begin
    const closing = store.close().then(() => events.push('closed'));
    await Promise.all([closing, store.close()]);
    assert.equal(await inFlight, 'done');
    assert.deepEqual(events, ['committed', 'closed']);
    await store.close();
    await rejectsWith(store.get('SELECT 1 AS one'), 'E_STORE');
    await rejectsWith(store.run(`INSERT INTO ${t} (id) VALUES ('b')`), 'E_STORE');
    await rejectsWith(
      store.transaction(() => Promise.resolve()),
      'E_STORE',
    );
  });
}
