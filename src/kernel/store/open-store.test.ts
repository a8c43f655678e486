// openStore(url): which driver a database URL selects, and that the store it returns works.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isStrataError } from '../errors.ts';
import { createTestDatabase } from '../../testkit/pg.ts';
import { openStore } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-open-'));
after(() => rmSync(dir, { recursive: true, force: true }));

void describe('openStore', () => {
  void it('opens an in-memory SQLite store for sqlite::memory:', async () => {
    const [a, b] = [await openStore('sqlite::memory:'), await openStore('sqlite::memory:')];
    assert.equal(a.dialect, 'sqlite');
    await a.run('CREATE TABLE only_in_a (id TEXT)');
    assert.deepEqual(await a.all('SELECT * FROM only_in_a'), []);
    await assert.rejects(
      b.all('SELECT * FROM only_in_a'),
      'each in-memory store is private, not a shared file',
    );
    await Promise.all([a.close(), b.close()]);
  });

  for (const [label, url, path] of [
    ['a sqlite:<path> URL', `sqlite:${join(dir, 'a', 'strata.db')}`, join(dir, 'a', 'strata.db')],
    ['a bare file path', join(dir, 'b', 'strata.db'), join(dir, 'b', 'strata.db')],
  ] as const) {
    void it(`opens a SQLite file for ${label}, creating its directory`, async () => {
      const store = await openStore(url);
      assert.equal(store.dialect, 'sqlite');
      await store.run('CREATE TABLE t (id TEXT)');
      await store.close();
      assert.ok(existsSync(path), `${path} exists`);
    });
  }

  void it('opens a PostgreSQL store for postgres:// and postgresql:// URLs', async () => {
    const db = await createTestDatabase();
    try {
      for (const url of [db.url, db.url.replace(/^postgres:/, 'postgresql:')]) {
        const store = await openStore(url, { poolSize: 2 });
        assert.equal(store.dialect, 'postgres');
        assert.deepEqual(await store.get('SELECT current_database() AS name'), {
          name: new URL(db.url).pathname.slice(1),
        });
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });

  void it('rejects an unsupported scheme with E_CONFIG naming the setting', async () => {
    for (const url of ['mysql://localhost/strata', 'https://example.com/db']) {
      await assert.rejects(openStore(url), (error: unknown) => {
        assert.ok(isStrataError(error));
        assert.equal(error.code, 'E_CONFIG');
        assert.equal((error.data as { key?: string }).key, 'database.url');
        return true;
      });
    }
  });
});
