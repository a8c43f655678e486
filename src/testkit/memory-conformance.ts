/**
 * @module testkit/memory-conformance
 * The contract of the memory layer on a store driver, as one node:test suite: decisions with
 * history, contradiction handling, tenant and scope isolation, search, export/import and bad input.
 * Our SQLite and PostgreSQL stores run it (`src/memory/memory.test.ts`); a third-party store driver
 * runs it to prove memory works on it.
 *
 * @example
 * describeMemoryConformance('sqlite', async () => {
 *   const store = await createSqliteStore({ path: ':memory:' });
 *   return { store, close: () => store.close() };
 * });
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isStrataError } from '../kernel/errors.ts';
import { MemoryService } from '../memory/memory.ts';
import type { StoreFactory, StoreHandle } from './store-conformance/context.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 10, 12);

const code =
  (expected: string) =>
  (error: unknown): boolean =>
    isStrataError(error) && error.code === expected;

export function describeMemoryConformance(name: string, factory: StoreFactory): void {
  void describe(`memory conformance: ${name}`, () => {
    let handle: StoreHandle | undefined;
    let memory: MemoryService;
    const tenant = (): string => `ten_${randomBytes(4).toString('hex')}`;
    before(async () => {
      handle = await factory();
      memory = await MemoryService.open({ store: handle.store });
    });
    after(async () => {
      await handle?.close();
    });

    it('decides ADD, NOOP, UPDATE and DELETE, and keeps every change in history with sources', async () => {
      const t = tenant();
      const s = { userId: 'alice' };
      const first = await memory.add(t, s, [
        { name: 'Alice', content: 'I live in Paris. I like hiking in the Alps.', id: 'm1', at: T0 },
      ]);
      assert.deepEqual(
        first.results.map((r) => [r.event, r.text]),
        [
          ['ADD', 'Alice lives in Paris'],
          ['ADD', 'Alice likes hiking in the Alps'],
        ],
      );
      assert.equal(first.messages.length, 1);
      const paris = first.results[0]?.id as string;
      const hiking = first.results[1]?.id as string;

      const second = await memory.add(t, s, [
        {
          name: 'Alice',
          content: 'I like hiking in the Alps. I like hiking in the Alps with my dog Rex.',
          id: 'm2',
          at: T0 + DAY,
        },
      ]);
      assert.deepEqual(
        second.results.map((r) => [r.event, r.id]),
        [
          ['NOOP', hiking],
          ['UPDATE', hiking],
        ],
      );
      assert.equal(second.results[1]?.previousText, 'Alice likes hiking in the Alps');

      const third = await memory.add(t, s, [
        { name: 'Alice', content: 'I moved to Berlin last week.', id: 'm3', at: T0 + 30 * DAY },
      ]);
      assert.deepEqual(
        third.results.map((r) => r.event),
        ['DELETE', 'ADD'],
      );
      assert.equal(third.results[0]?.id, paris);

      const history = await memory.history(t, s, hiking);
      assert.deepEqual(
        history.map((h) => [h.event, h.oldText, h.newText, h.sources]),
        [
          ['ADD', null, 'Alice likes hiking in the Alps', ['m1']],
          [
            'UPDATE',
            'Alice likes hiking in the Alps',
            "Alice likes hiking in the Alps with Alice's dog Rex",
            ['m2'],
          ],
        ],
      );
      const parisHistory = await memory.history(t, s, paris);
      assert.deepEqual(
        parisHistory.map((h) => [h.event, h.sources]),
        [
          ['ADD', ['m1']],
          ['DELETE', ['m3']],
        ],
      );
      assert.ok(parisHistory.every((h) => h.at > 0));
      // Sending the same message again changes nothing.
      const again = await memory.add(t, s, [
        { name: 'Alice', content: 'I moved to Berlin last week.', id: 'm3', at: T0 + 30 * DAY },
      ]);
      assert.deepEqual(again.results, []);
      assert.deepEqual(again.messages, []);
    });

    it('contradiction: the newer fact supersedes the older, which stays readable with a closed validity', async () => {
      const t = tenant();
      const s = { userId: 'bob' };
      const old = await memory.add(t, s, [
        { name: 'Bob', content: 'I work at Acme Corp.', id: 'b1', at: T0 },
      ]);
      const oldId = old.results[0]?.id as string;
      const next = await memory.add(t, s, [
        { name: 'Bob', content: 'I work at Globex now.', id: 'b2', at: T0 + 10 * DAY },
      ]);
      const newId = next.results.find((r) => r.event === 'ADD')?.id as string;
      const before_ = await memory.get(t, s, oldId);
      assert.equal(before_.status, 'invalid');
      assert.equal(before_.validTo, T0 + 10 * DAY);
      assert.equal(before_.supersededBy, newId);
      assert.equal(before_.text, 'Bob works at Acme Corp');
      const hits = await memory.search(t, s, 'where does Bob work?', { k: 3, filters: { kind: 'fact' } });
      assert.equal(hits[0]?.memory.id, newId);
      assert.ok(hits[0]?.signals.graph, 'the entity graph matched Bob / works_at');
      assert.ok(!hits.some((h) => h.memory.id === oldId), 'an invalidated fact is not a current answer');
      const then = await memory.search(t, s, 'where does Bob work?', {
        k: 3,
        filters: { kind: 'fact', asOf: T0 + DAY },
      });
      assert.equal(then[0]?.memory.id, oldId, 'asOf sees the fact valid at that time');
      // A negation closes the current fact without adding one.
      const neg = await memory.add(t, s, [
        { name: 'Bob', content: 'I no longer work at Globex.', id: 'b3', at: T0 + 20 * DAY },
      ]);
      assert.deepEqual(
        neg.results.map((r) => [r.event, r.id]),
        [['DELETE', newId]],
      );
      assert.equal((await memory.list(t, s, { kind: 'fact' })).length, 0);
      assert.equal((await memory.list(t, s, { kind: 'fact', status: 'invalid' })).length, 2);
    });

    it('dates are normalised against the message time and speakers attributed', async () => {
      const t = tenant();
      const r = await memory.add(t, { runId: 'r1' }, [
        {
          name: 'Caroline',
          content: 'I went to a LGBTQ support group yesterday.',
          at: Date.UTC(2023, 4, 8, 13, 56),
        },
      ]);
      assert.equal(r.results[0]?.text, 'Caroline went to a LGBTQ support group yesterday (7 May 2023)');
      const hits = await memory.search(t, { runId: 'r1' }, 'When did Caroline go to the support group?');
      assert.ok(hits.length > 0);
      assert.deepEqual(hits[0]?.memory.sources.length, 1);
    });

    it('never crosses tenants, and scopes filter reads', async () => {
      const a = tenant();
      const b = tenant();
      await memory.add(a, { userId: 'u1', agentId: 'ag1' }, 'The launch code word is marmalade', {
        infer: false,
      });
      await memory.add(a, { userId: 'u1', agentId: 'ag2' }, 'The backup code word is marmalade too', {
        infer: false,
      });
      await memory.add(b, { userId: 'u1', agentId: 'ag1' }, 'Tenant B likes marmalade', { infer: false });
      const inA = await memory.search(a, { userId: 'u1' }, 'marmalade');
      assert.equal(inA.length, 2);
      assert.ok(inA.every((h) => !h.memory.text.startsWith('Tenant B')));
      const ag1 = await memory.search(a, { agentId: 'ag1' }, 'marmalade');
      assert.deepEqual(
        ag1.map((h) => h.memory.scope.agentId),
        ['ag1'],
      );
      const bId = (await memory.list(b, {}))[0]?.id as string;
      await assert.rejects(memory.get(a, {}, bId), code('E_NOT_FOUND'));
      await assert.rejects(memory.delete(a, {}, bId), code('E_NOT_FOUND'));
      const ag2Id = (await memory.list(a, { agentId: 'ag2' }))[0]?.id as string;
      await assert.rejects(memory.get(a, { agentId: 'ag1' }, ag2Id), code('E_NOT_FOUND'));
    });

    it('update and delete keep history; deleted memories leave search', async () => {
      const t = tenant();
      const s = { agentId: 'a1' };
      const { results } = await memory.add(t, s, 'Deploys happen on Tuesdays', { infer: false });
      const id = results[0]?.id as string;
      const updated = await memory.update(t, s, id, {
        text: 'Deploys happen on Thursdays',
        metadata: { team: 'ops' },
      });
      assert.equal(updated.text, 'Deploys happen on Thursdays');
      assert.deepEqual(updated.metadata, { team: 'ops' });
      assert.equal((await memory.search(t, s, 'thursdays deploys'))[0]?.memory.id, id);
      assert.equal(
        (await memory.search(t, s, 'deploys', { filters: { metadata: { team: 'dev' } } })).length,
        0,
      );
      const deleted = await memory.delete(t, s, id);
      assert.equal(deleted.status, 'deleted');
      assert.equal((await memory.delete(t, s, id)).status, 'deleted', 'deleting twice is a no-op');
      assert.equal((await memory.search(t, s, 'thursdays deploys')).length, 0);
      assert.deepEqual(
        (await memory.history(t, s, id)).map((h) => h.event),
        ['ADD', 'UPDATE', 'DELETE'],
      );
      await assert.rejects(memory.update(t, s, id, { text: 'x y z' }), code('E_CONFLICT'));
    });

    it('export → import into a new tenant round-trips losslessly and searches the same', async () => {
      const from = tenant();
      const to = tenant();
      const s = { userId: 'carol' };
      await memory.add(from, s, [
        { name: 'Carol', content: 'I live in Lisbon. My favorite food is bacalhau.', id: 'c1', at: T0 },
        { name: 'Dan', content: 'Carol, I moved to Porto last year!', id: 'c2', at: T0 + 1000 },
      ]);
      await memory.add(from, s, [{ name: 'Carol', content: 'I moved to Madrid.', id: 'c3', at: T0 + DAY }]);
      const jsonl = await memory.export(from, s);
      const counts = await memory.import(to, s, jsonl);
      assert.ok(counts.memories >= 5 && counts.history >= 4);
      const strip = (text: string): string => text.split('\n').slice(1).join('\n');
      assert.equal(strip(await memory.export(to, s)), strip(jsonl));
      for (const q of ['where does Carol live', 'favorite food', 'Porto']) {
        const a = await memory.search(from, s, q, { neighbors: 1 });
        const b = await memory.search(to, s, q, { neighbors: 1 });
        assert.deepEqual(b, a);
      }
      await assert.rejects(memory.import(to, s, jsonl), code('E_CONFLICT'), 'ids already present');
    });

    it('bad input: empty, huge, invalid scope, unknown id, malformed import line (nothing imported)', async () => {
      const t = tenant();
      await assert.rejects(memory.add(t, { userId: 'u' }, '   '), code('E_INVALID_INPUT'));
      await assert.rejects(memory.add(t, { userId: 'u' }, 'x'.repeat(40_000)), code('E_PAYLOAD_TOO_LARGE'));
      await assert.rejects(memory.add(t, {}, 'no scope at all'), code('E_INVALID_INPUT'));
      await assert.rejects(memory.add(t, { userId: '../etc' }, 'bad id'), code('E_INVALID_INPUT'));
      await assert.rejects(memory.search(t, { userId: 'u' }, ''), code('E_INVALID_INPUT'));
      await assert.rejects(memory.get(t, { userId: 'u' }, 'mem_nope'), code('E_NOT_FOUND'));
      await assert.rejects(memory.history(t, {}, 'mem_nope'), code('E_NOT_FOUND'));
      const source = tenant();
      await memory.add(source, { userId: 'u' }, [
        { name: 'Eve', content: 'I live in Oslo and I like skiing.' },
      ]);
      const lines = (await memory.export(source, { userId: 'u' })).trimEnd().split('\n');
      const broken = [...lines];
      broken[2] = '{"type":"memory","id":';
      await assert.rejects(memory.import(t, { userId: 'u' }, broken.join('\n')), (error: unknown) => {
        assert.ok(isStrataError(error) && error.code === 'E_INVALID_INPUT');
        assert.deepEqual(error.data, { line: 3 });
        assert.match(error.message, /line 3/);
        return true;
      });
      const outside = [...lines];
      outside[1] = (outside[1] as string).replace('"userId":"u"', '"userId":"someone-else"');
      await assert.rejects(memory.import(t, { userId: 'u' }, outside.join('\n')), code('E_INVALID_INPUT'));
      await assert.rejects(
        memory.import(t, { userId: 'u' }, lines.slice(0, -1).join('\n')),
        code('E_INVALID_INPUT'),
      );
      assert.deepEqual(await memory.list(t, {}, { status: 'all' }), [], 'nothing was half-imported');
    });
  });
}
