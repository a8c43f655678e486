/**
 * @module testkit/store-conformance/transactions
 * Transactions: commit, rollback on throw, savepoints, isolation of concurrent read-modify-write
 * with `forUpdate()`, and the PostgreSQL rule (adopted by every driver) that a failed statement
 * dooms its transaction unless it ran in a nested one. `afterCommit` hooks (their own group): run
 * after the outermost commit only.
 */
import assert from 'node:assert/strict';
import { isStrataError } from '../../kernel/errors.ts';
import { forUpdate, type Queryable, type Transaction } from '../../kernel/store/store.ts';
import { rejectsWith, type ConformanceContext } from './context.ts';

export function transactionTests({ store, unique, test }: ConformanceContext): void {
  async function table(): Promise<{ t: string; ids: (q?: Queryable) => Promise<string[]> }> {
    const t = unique('tx');
    await store().run(`CREATE TABLE ${t} (id TEXT PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0)`);
    const ids = async (q: Queryable = store()) =>
      (await q.all<{ id: string }>(`SELECT id FROM ${t} ORDER BY id`)).map((row) => row.id);
    return { t, ids };
  }
  const insert = (q: Queryable, t: string, id: string) => q.run(`INSERT INTO ${t} (id) VALUES (?)`, [id]);

  test('commits when fn resolves and returns its value', async () => {
    const { t, ids } = await table();
    const result = await store().transaction(async (tx) => {
      await insert(tx, t, 'a');
      await insert(tx, t, 'b');
      assert.deepEqual(await ids(tx), ['a', 'b'], 'the transaction sees its own writes');
      return 42;
    });
    assert.equal(result, 42);
    assert.deepEqual(await ids(), ['a', 'b']);
  });

  test('rolls back everything when fn throws, rethrowing the same error', async () => {
    const { t, ids } = await table();
    const boom = new Error('boom');
    await assert.rejects(
      store().transaction(async (tx) => {
        await insert(tx, t, 'a');
        throw boom;
      }),
      (error) => error === boom,
    );
    assert.deepEqual(await ids(), []);
  });

  test('a nested transaction that throws rolls back to its savepoint and keeps the outer work', async () => {
    const { t, ids } = await table();
    await store().transaction(async (tx) => {
      await insert(tx, t, 'outer');
      await assert.rejects(
        tx.transaction(async (inner) => {
          await insert(inner, t, 'inner');
          await inner.transaction(async (deepest) => insert(deepest, t, 'deepest'));
          throw new Error('undo inner');
        }),
        /undo inner/,
      );
      await tx.transaction(async (inner) => insert(inner, t, 'kept'));
    });
    assert.deepEqual(await ids(), ['kept', 'outer']);
  });

  test('a nested transaction that committed is still undone when the outer one fails', async () => {
    const { t, ids } = await table();
    await assert.rejects(
      store().transaction(async (tx) => {
        await tx.transaction(async (inner) => insert(inner, t, 'inner'));
        throw new Error('outer fails');
      }),
    );
    assert.deepEqual(await ids(), []);
  });

  test('concurrent sibling nested transactions on one handle do not corrupt each other', async () => {
    const { t, ids } = await table();
    await store().transaction(async (tx) => {
      const children = ['a', 'b', 'c', 'd'].map((id) =>
        tx.transaction(async (inner) => {
          await insert(inner, t, id);
          if (id === 'b') throw new Error('drop b');
        }),
      );
      const settled = await Promise.allSettled(children);
      assert.deepEqual(
        settled.map((s) => s.status),
        ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
    });
    assert.deepEqual(await ids(), ['a', 'c', 'd']);
  });

  test('20 concurrent read-modify-write transactions using forUpdate() lose no increment', async () => {
    const { t } = await table();
    await insert(store(), t, 'counter');
    const increment = async (tx: Transaction) => {
      const row = await tx.get<{ n: number }>(`SELECT n FROM ${t} WHERE id = ?${forUpdate(tx)}`, ['counter']);
      await new Promise((resolve) => setTimeout(resolve, 1)); // widen the race window
      await tx.run(`UPDATE ${t} SET n = ? WHERE id = ?`, [(row?.n ?? NaN) + 1, 'counter']);
    };
    await Promise.all(Array.from({ length: 20 }, () => store().transaction(increment)));
    assert.deepEqual(await store().get(`SELECT n FROM ${t}`), { n: 20 });
  });

  test('a failed statement that escapes fn rolls the whole transaction back', async () => {
    const { t, ids } = await table();
    await rejectsWith(
      store().transaction(async (tx) => {
        await insert(tx, t, 'a');
        await insert(tx, t, 'a');
      }),
      'E_CONFLICT',
    );
    assert.deepEqual(await ids(), []);
  });

  test('a failed statement whose error fn catches still dooms the transaction', async () => {
    const { t, ids } = await table();
    const error = await rejectsWith(
      store().transaction(async (tx) => {
        await insert(tx, t, 'a');
        await rejectsWith(insert(tx, t, 'a'), 'E_CONFLICT');
        await rejectsWith(insert(tx, t, 'b'), 'E_STORE'); // later statements are refused
      }),
      'E_STORE',
    );
    assert.ok(error.cause !== undefined);
    assert.deepEqual(await ids(), [], 'nothing is committed');
  });

  test('a failed statement inside a nested transaction leaves the outer one usable', async () => {
    const { t, ids } = await table();
    await store().transaction(async (tx) => {
      await insert(tx, t, 'a');
      await rejectsWith(
        tx.transaction((inner) => insert(inner, t, 'a')),
        'E_CONFLICT',
      );
      await insert(tx, t, 'b');
    });
    assert.deepEqual(await ids(), ['a', 'b']);
  });

  test('a handle used after its transaction ended is refused', async () => {
    const { t, ids } = await table();
    const leaked = await store().transaction((tx) => Promise.resolve(tx));
    await rejectsWith(insert(leaked, t, 'late'), 'E_STORE');
    await rejectsWith(
      leaked.transaction(() => Promise.resolve()),
      'E_STORE',
    );
    assert.deepEqual(await ids(), []);
  });
}

/** `tx.afterCommit`: what a bus relies on to wake readers only for data that committed. */
export function afterCommitTests({ store, unique, test }: ConformanceContext): void {
  test('afterCommit hooks run once, in order, only after the commit', async () => {
    const t = unique('hooks');
    await store().run(`CREATE TABLE ${t} (id TEXT PRIMARY KEY)`);
    const ran: string[] = [];
    await store().transaction(async (tx) => {
      tx.afterCommit(() => ran.push('first'));
      await tx.run(`INSERT INTO ${t} (id) VALUES ('a')`);
      tx.afterCommit(() => ran.push('second'));
      assert.equal(ran.length, 0, 'not while the transaction is open');
    });
    assert.deepEqual(ran, ['first', 'second'], 'by the time transaction() resolves');
  });

  test('afterCommit hooks never run when the transaction rolls back', async () => {
    const ran: string[] = [];
    await assert.rejects(
      store().transaction((tx) => {
        tx.afterCommit(() => ran.push('thrown'));
        return Promise.reject(new Error('abort'));
      }),
      /abort/,
    );
    const t = unique('hooks');
    await store().run(`CREATE TABLE ${t} (id TEXT PRIMARY KEY)`);
    await rejectsWith(
      store().transaction(async (tx) => {
        tx.afterCommit(() => ran.push('doomed'));
        await tx.run(`INSERT INTO ${t} (id) VALUES ('a')`);
        await rejectsWith(tx.run(`INSERT INTO ${t} (id) VALUES ('a')`), 'E_CONFLICT');
      }),
      'E_STORE',
    );
    assert.deepEqual(ran, []);
  });

  test("a savepoint's hooks wait for the outer commit, and go with either level's rollback", async () => {
    const ran: string[] = [];
    await store().transaction(async (tx) => {
      await tx.transaction(async (inner) => {
        inner.afterCommit(() => ran.push('released'));
        await inner.transaction((deepest) => Promise.resolve(deepest.afterCommit(() => ran.push('deepest'))));
      });
      assert.equal(ran.length, 0, 'a released savepoint is not a commit');
      await assert.rejects(
        tx.transaction((inner) => {
          inner.afterCommit(() => ran.push('rolled back to'));
          return Promise.reject(new Error('undo inner'));
        }),
      );
      tx.afterCommit(() => ran.push('outer'));
    });
    await assert.rejects(
      store().transaction(async (tx) => {
        await tx.transaction((inner) => Promise.resolve(inner.afterCommit(() => ran.push('outer failed'))));
        throw new Error('outer fails');
      }),
    );
    assert.deepEqual(ran, ['released', 'deepest', 'outer']);
  });

  test('afterCommit on a handle whose transaction ended is refused', async () => {
    const leaked = await store().transaction((tx) => Promise.resolve(tx));
    assert.throws(
      () => leaked.afterCommit(() => undefined),
      (error: unknown) => isStrataError(error) && error.code === 'E_STORE',
    );
  });
}
