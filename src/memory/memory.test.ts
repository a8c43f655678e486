import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPostgresStore } from '../kernel/store/drivers/postgres/index.ts';
import { createSqliteStore } from '../kernel/store/drivers/sqlite/index.ts';
import { describeMemoryConformance } from '../testkit/memory-conformance.ts';
import { freshDatabase } from '../testkit/stores.ts';
import { createTestDatabase } from '../testkit/pg.ts';
import { MemoryService } from './memory.ts';
import type { Store } from '../kernel/index.ts';

describeMemoryConformance('sqlite', async () => {
  const store = await createSqliteStore({ path: ':memory:' });
  return { store, close: () => store.close() };
});

describeMemoryConformance('postgres', async () => {
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

void describe('memory across drivers', () => {
  const handles: { store: Store; drop: () => Promise<void> }[] = [];
  const open = async (dialect: 'sqlite' | 'postgres'): Promise<MemoryService> => {
    const db = await freshDatabase(dialect);
    const store = await db.open();
    handles.push({ store, drop: () => db.drop() });
    return MemoryService.open({ store });
  };
  let sqlite: MemoryService;
  let postgres: MemoryService;
  before(async () => {
    sqlite = await open('sqlite');
    postgres = await open('postgres');
  });
  after(async () => {
    for (const h of handles) {
      await h.store.close();
      await h.drop();
    }
  });

  it('export from SQLite → import into PostgreSQL → identical search results, and back losslessly', async () => {
    const s = { userId: 'alice', agentId: 'helper' };
    const t0 = Date.UTC(2024, 2, 1);
    await sqlite.add('ten_a', s, [
      {
        name: 'Alice',
        content: 'I live in Paris. My favorite food is ramen. I adopted a cat named Miso.',
        id: 'x1',
        at: t0,
      },
      { name: 'Sam', content: 'Nice! I started pottery classes yesterday.', id: 'x2', at: t0 + 60_000 },
    ]);
    await sqlite.add('ten_a', s, [
      {
        name: 'Alice',
        content: 'I moved to Lyon last month. Miso loves the new balcony.',
        id: 'x3',
        at: t0 + 40 * 86_400_000,
      },
    ]);
    await sqlite.add('ten_a', { userId: 'alice' }, 'Alice prefers window seats on trains', { infer: false });
    const exported = await sqlite.export('ten_a', {});
    await postgres.import('ten_b', {}, exported);
    const queries = ['where does Alice live', 'cat Miso', 'pottery', 'what food does Alice like', 'trains'];
    for (const q of queries) {
      const a = await sqlite.search('ten_a', s, q, { k: 5, neighbors: 1 });
      const b = await postgres.search('ten_b', s, q, { k: 5, neighbors: 1 });
      assert.ok(a.length > 0, q);
      assert.deepEqual(b, a, q);
    }
    const back = await postgres.export('ten_b', {});
    const body = (text: string): string => text.split('\n').slice(1).join('\n');
    assert.equal(body(back), body(exported));
  });
});
