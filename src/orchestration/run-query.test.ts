// runs.list filters, runs.count and runs.bulk through the kernel, on both engines: each filter picks
// exactly its runs (and the count agrees), keyset pages over hundreds of runs have no duplicates or
// gaps, a stale bulk preview is refused with the new count and nothing changes, each run of a bulk
// action is checked and audited as the single-run syscall, and bad filters name their field.
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { z } from 'zod';
import { isStrataError, ManualClock, type Grant, type Principal } from '../kernel/index.ts';
import { onEveryStore, withCode } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import type { Run } from './run-row.ts';
import { runSyscalls } from './syscalls.ts';
import { harness, type Harness } from './testing.ts';

type Page = { runs: Run[]; next?: string };
type Bulk = { done: string[]; skipped: { id: string; code: string }[]; remaining: number };

const T0 = 1_800_000_000_000;
const noop = (name: string) =>
  defineWorkflow({ name, version: 1, input: z.object({}), output: z.null() }, () => Promise.resolve(null));

async function setup(t: TestContext, db: Parameters<typeof harness>[0]) {
  const clock = new ManualClock(T0);
  const h = await harness(db, undefined, clock);
  t.after(() => h.close());
  for (const def of runSyscalls(h.engine)) h.kernel.register(def);
  h.engine.register(noop('greet'));
  h.engine.register(noop('gate'));
  const call = <T>(name: string, input: unknown, as: Principal = h.principal): Promise<T> =>
    h.kernel.call<T>(`runs.${name}`, input, { principal: as });
  const ids = async (filter: object, as?: Principal): Promise<string[]> =>
    (await call<Page>('list', { ...filter, limit: 1000 }, as)).runs.map((r) => r.id);
  return { h, clock, call, ids };
}

async function principal(h: Harness, grants: Grant[]): Promise<Principal> {
  const { key } = await h.kernel.principals.createApiKey({
    tenantId: h.principal.tenantId,
    name: 'k',
    grants,
  });
  return h.kernel.authenticate({ apiKey: key });
}

const fail = (h: Harness, id: string, code: string, costMicros = 0) =>
  h.store.run("UPDATE orch_runs SET status = 'failed', error = ?, cost_micros = ? WHERE id = ?", [
    JSON.stringify({ code, message: 'seeded' }),
    costMicros,
    id,
  ]);

const newestFirst = (...runs: { id: string }[]): string[] =>
  runs
    .map((r) => r.id)
    .sort()
    .reverse();

onEveryStore('runs.list filters, runs.count and runs.bulk', (db) => {
  it('picks exactly the runs each filter names, and runs.count agrees', async (t) => {
    const { h, clock, call, ids } = await setup(t, db());
    const agent = await principal(h, [{ syscall: '*', resource: '*' }]);
    const root = await h.engine.start('greet', {}, { principal: h.principal });
    clock.advance(1000);
    const other = await h.engine.start('gate', {}, { principal: agent });
    const child = await h.engine.start(
      'greet',
      {},
      { principal: h.principal, parentId: root.id, rootId: root.id },
    );
    const grandchild = await h.engine.start(
      'gate',
      {},
      { principal: h.principal, parentId: child.id, rootId: root.id },
    );
    await fail(h, other.id, 'E_TIMEOUT', 2_500_000);
    const all = newestFirst(root, other, child, grandchild);
    const cases: [object, string[]][] = [
      [{}, all],
      [{ status: 'failed' }, [other.id]],
      [{ status: ['failed', 'queued'] }, all],
      [{ workflow: 'gate' }, newestFirst(other, grandchild)],
      [{ parentId: root.id }, [child.id]],
      [{ rootId: root.id }, newestFirst(root, child, grandchild)],
      [{ supervisor: root.id }, newestFirst(root, child, grandchild)],
      [{ supervisor: child.id }, newestFirst(child, grandchild)],
      [{ supervisor: 'run_unknown' }, []],
      [{ parentId: 'run_unknown' }, []],
      [{ agent: agent.id }, [other.id]],
      [{ agent: h.principal.id, workflow: 'gate' }, [grandchild.id]],
      [{ errorCode: 'E_TIMEOUT' }, [other.id]],
      [{ errorCode: 'E_OTHER' }, []],
      [{ createdAfter: T0 + 1000 }, newestFirst(other, child, grandchild)],
      [{ createdBefore: T0 + 1000 }, [root.id]],
      [{ createdAfter: T0, createdBefore: T0 + 1 }, [root.id]],
      [{ minCostUsd: 2.5 }, [other.id]],
      [{ minCostUsd: 2.500001 }, []],
      [{ q: other.id }, [other.id]],
      [{ q: 'GAT' }, newestFirst(other, grandchild)],
      [{ q: '%' }, []],
      [{ q: 'run_', status: 'failed' }, [other.id]],
    ];
    for (const [filter, expected] of cases) {
      const label = JSON.stringify(filter);
      assert.deepEqual(await ids(filter), expected, label);
      assert.deepEqual(await call('count', filter), { count: expected.length, capped: false }, label);
    }
    assert.deepEqual(await h.engine.count(h.principal.tenantId, {}, 3), { count: 3, capped: true });
  });

  it('pages over hundreds of runs, filtered or not, without duplicates or gaps', async (t) => {
    const { h, clock, call } = await setup(t, db());
    const started: string[] = [];
    for (let i = 0; i < 6; i++) {
      started.push(
        ...(await h.engine.startMany(
          'greet',
          Array.from({ length: 50 }, () => ({})),
          { principal: h.principal },
        )),
      );
      clock.advance(1);
    }
    const failed = started.filter((_, i) => i % 3 === 0);
    for (const id of failed) await fail(h, id, 'E_BOOM');
    for (const [filter, expected, size] of [
      [{}, started, 37],
      [{ status: 'failed', q: 'gree' }, failed, 7],
    ] as const) {
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page: Page = await call('list', { ...filter, limit: size, ...(after ? { after } : {}) });
        seen.push(...page.runs.map((r) => r.id));
        after = page.next;
      } while (after !== undefined);
      assert.deepEqual(seen, [...expected].sort().reverse());
      assert.equal(new Set(seen).size, expected.length);
    }
  });

  it('acts on the previewed runs only while the preview holds, each run checked and audited', async (t) => {
    const { h, call, ids } = await setup(t, db());
    const gates = await h.engine.startMany('gate', [{}, {}, {}, {}, {}], { principal: h.principal });
    await h.engine.startMany('greet', [{}, {}], { principal: h.principal });
    const finished = gates[0] as string;
    await h.store.run("UPDATE orch_runs SET status = 'completed' WHERE id = ?", [finished]);
    const filter = { workflow: 'gate' };
    assert.deepEqual(await call('count', filter), { count: 5, capped: false });

    const stale = call('bulk', { action: 'cancel', filter, expect: 4 });
    await assert.rejects(
      stale,
      (e) => isStrataError(e) && e.code === 'E_CONFLICT' && (e.data as { count: number }).count === 5,
    );
    assert.deepEqual(await ids({ status: 'cancelled' }), []);

    const cancelled = await call<Bulk>('bulk', { action: 'cancel', filter, expect: 5 });
    assert.deepEqual(cancelled.skipped, [{ id: finished, code: 'E_CONFLICT' }]);
    assert.deepEqual(cancelled.done, [...gates.slice(1)].sort().reverse());
    assert.deepEqual(await ids({ status: 'cancelled' }), cancelled.done);
    const audit = await h.kernel.audit.list(h.principal.tenantId, { limit: 500 });
    const perRun = audit.filter((e) => e.action === 'runs.cancel').map((e) => e.resource);
    assert.deepEqual(perRun.sort(), gates.map((id) => `runs/${id}`).sort());
    assert.equal(audit.filter((e) => e.action === 'runs.bulk' && e.outcome === 'ok').length, 1);

    const retry = { action: 'retry', filter: { status: 'cancelled' }, expect: 4, limit: 3 };
    const retried = await call<Bulk>('bulk', retry);
    assert.deepEqual([retried.done.length, retried.remaining], [3, 1]);
    assert.deepEqual(await ids({ status: 'queued', workflow: 'gate' }), retried.done);
  });

  it('refuses runs.bulk without its grant, and skips each run the caller may not cancel', async (t) => {
    const { h, call, ids } = await setup(t, db());
    const runs = await h.engine.startMany('gate', [{}, {}], { principal: h.principal });
    const viewer = await principal(h, [
      { syscall: 'runs.list', resource: '*' },
      { syscall: 'runs.count', resource: '*' },
    ]);
    const bulk = { action: 'cancel', filter: {}, expect: 2 };
    await assert.rejects(call('bulk', bulk, viewer), withCode('E_CAPABILITY_DENIED'));
    const bulkOnly = await principal(h, [{ syscall: 'runs.bulk', resource: '*' }]);
    const result = await call<Bulk>('bulk', bulk, bulkOnly);
    assert.deepEqual(result.done, []);
    assert.deepEqual(
      result.skipped.map((s) => s.code),
      ['E_CAPABILITY_DENIED', 'E_CAPABILITY_DENIED'],
    );
    assert.deepEqual(await ids({ status: 'queued' }), [...runs].sort().reverse());
  });

  it('refuses malformed filters naming the field', async (t) => {
    const { call } = await setup(t, db());
    const cases: [string, object, string][] = [
      ['list', { status: 'sleeping' }, 'status'],
      ['list', { status: [] }, 'status'],
      ['list', { createdAfter: 10, createdBefore: 5 }, 'createdBefore'],
      ['count', { minCostUsd: -1 }, 'minCostUsd'],
      ['count', { errorCode: 'timeout; DROP' }, 'errorCode'],
      ['count', { createdAfter: 'yesterday' }, 'createdAfter'],
      ['list', { q: '  ' }, 'q'],
      ['bulk', { action: 'delete', filter: {}, expect: 0 }, 'action'],
      ['bulk', { action: 'cancel', filter: { agent: '' }, expect: 0 }, 'filter.agent'],
      ['bulk', { action: 'cancel', filter: {}, expect: 0, limit: 1001 }, 'limit'],
    ];
    for (const [name, input, field] of cases) {
      await assert.rejects(
        call(name, input),
        (e) =>
          isStrataError(e) &&
          e.code === 'E_INVALID_INPUT' &&
          (e.data as { issues: { path: string }[] }).issues.some((i) => i.path === field),
        `${name} ${JSON.stringify(input)}`,
      );
    }
  });
});
