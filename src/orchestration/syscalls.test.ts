// The run API through the kernel pipeline, on both engines: start → completed with its timeline,
// signals, cancel and retry, grants (including the run acting as its starter), tenant isolation,
// and bad input refused with a clear code and nothing stored.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it, type TestContext } from 'node:test';
import { z } from 'zod';
import type { Grant, Principal } from '../kernel/index.ts';
import { onEveryStore, withCode } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import type { Run } from './run-row.ts';
import { runSyscalls } from './syscalls.ts';
import { harness, type Harness } from './testing.ts';
import type { TimelineEntry } from './timeline.ts';

type Page = { runs: Run[]; next?: string };
type Journal = { run: Run; entries: TimelineEntry[] };

const greet = defineWorkflow(
  { name: 'greet', version: 1, input: z.object({ name: z.string() }), output: z.string() },
  async (ctx, { name }) => {
    const hello = await ctx.step('hello', () => `hello ${name}`);
    await ctx.sleep(20);
    return ctx.step('shout', () => hello.toUpperCase());
  },
);

const gate = defineWorkflow(
  { name: 'gate', version: 1, input: z.object({}), output: z.unknown() },
  async (ctx) => {
    const opened = await ctx.waitFor('open');
    return ctx.step('through', () => ({ opened }));
  },
);

const echoer = defineWorkflow(
  { name: 'echoer', version: 1, input: z.object({}), output: z.string() },
  async (ctx) => (await ctx.syscall<{ message: string }>('kernel.echo', { message: 'as starter' })).message,
);

/** A harness with the run syscalls and the test workflows; closed after the test, pass or fail. */
async function setup(t: TestContext, db: Parameters<typeof harness>[0]): Promise<Harness> {
  const h = await harness(db);
  t.after(() => h.close());
  for (const def of runSyscalls(h.engine)) h.kernel.register(def);
  h.engine.register(greet);
  h.engine.register(gate);
  h.engine.register(echoer);
  return h;
}

/** A principal with `grants`, in the harness tenant or (`newTenant`) in a tenant of its own. */
async function principal(h: Harness, grants: Grant[], newTenant = false): Promise<Principal> {
  const { principals } = h.kernel;
  const tenantId = newTenant
    ? (await principals.createTenant(`t${randomBytes(4).toString('hex')}`)).id
    : h.principal.tenantId;
  const { key } = await principals.createApiKey({ tenantId, name: 'k', grants });
  return h.kernel.authenticate({ apiKey: key });
}

const caller =
  (h: Harness) =>
  <T = Run>(name: string, input: unknown, as: Principal = h.principal): Promise<T> =>
    h.kernel.call<T>(`runs.${name}`, input, { principal: as });

onEveryStore('runs.* syscalls', (db) => {
  it('starts a run that a worker completes; get, list and journal show it', async (t) => {
    const h = await setup(t, db());
    const call = caller(h);
    await h.worker();
    const started = await call('start', { workflow: 'greet', input: { name: 'ada' } });
    assert.equal(started.status, 'queued');
    assert.equal(started.tenantId, h.principal.tenantId);
    const done = await h.waitFor(started.id, ['completed']);
    assert.equal(done.output, 'HELLO ADA');
    assert.deepEqual(await call('get', { runId: started.id }), done);
    const listed = await call<Page>('list', { workflow: 'greet', status: 'completed' });
    const ids = listed.runs.map((r) => r.id);
    assert.deepEqual(ids, [started.id]);
    const { run, entries } = await call<Journal>('journal', { runId: started.id });
    assert.equal(run.status, 'completed');
    assert.deepEqual(
      entries.map((e) => [e.seq, e.kind, e.name, e.status, e.output]),
      [
        [1, 'step', 'hello', 'ok', 'hello ada'],
        [2, 'sleep', 'sleep', 'ok', null],
        [3, 'step', 'shout', 'ok', 'HELLO ADA'],
      ],
    );
    assert.ok((entries[1]?.durationMs ?? 0) >= 20);
  });

  it('pages a listing with a cursor, and a repeated idempotency key returns the first run', async (t) => {
    const h = await setup(t, db());
    const call = caller(h);
    const first = await call('start', { workflow: 'greet', input: { name: 'a' }, idempotencyKey: 'k1' });
    const again = await call('start', { workflow: 'greet', input: { name: 'b' }, idempotencyKey: 'k1' });
    assert.equal(again.id, first.id);
    await call('start', { workflow: 'greet', input: { name: 'c' }, priority: 5, delayMs: 60_000 });
    const page = await call<Page>('list', { limit: 1 });
    assert.equal(page.runs.length, 1);
    const rest = await call<Page>('list', { limit: 10, after: page.next });
    assert.equal(rest.runs.length, 1);
    assert.equal(rest.next, undefined);
  });

  it('delivers a signal; cancels a waiting run; retries it from its journal', async (t) => {
    const h = await setup(t, db());
    const call = caller(h);
    await h.worker();
    const signalled = await call('start', { workflow: 'gate', input: {} });
    await h.waitFor(signalled.id, ['waiting']);
    await call('signal', { runId: signalled.id, name: 'open', payload: { by: 'ada' } });
    assert.deepEqual((await h.waitFor(signalled.id, ['completed'])).output, { opened: { by: 'ada' } });

    const cancelled = await call('start', { workflow: 'gate', input: {} });
    await h.waitFor(cancelled.id, ['waiting']);
    assert.equal((await call('cancel', { runId: cancelled.id })).status, 'cancelled');
    const retried = await call('retry', { runId: cancelled.id });
    assert.ok(['queued', 'running', 'waiting'].includes(retried.status), retried.status);
    await h.waitFor(cancelled.id, ['waiting']);
    await call('signal', { runId: cancelled.id, name: 'open', payload: 2 });
    assert.deepEqual((await h.waitFor(cancelled.id, ['completed'])).output, { opened: 2 });
  });

  it('checks grants, and a run’s own syscalls are checked against its starter’s grants', async (t) => {
    const h = await setup(t, db());
    const call = caller(h);
    await h.worker();
    const deny = (call: Promise<unknown>) => assert.rejects(call, withCode('E_CAPABILITY_DENIED'));
    const none = await principal(h, [{ syscall: 'kernel.*', resource: '*' }]);
    const run = await call('start', { workflow: 'gate', input: {} });
    await deny(call('start', { workflow: 'greet', input: { name: 'x' } }, none));
    await deny(call('get', { runId: run.id }, none));
    const greetOnly = await principal(h, [{ syscall: 'runs.*', resource: 'runs/greet' }]);
    await call('start', { workflow: 'greet', input: { name: 'x' } }, greetOnly);
    await deny(call('start', { workflow: 'gate', input: {} }, greetOnly));
    await deny(call('cancel', { runId: run.id }, greetOnly));

    const runsOnly = await principal(h, [{ syscall: 'runs.*', resource: '*' }]);
    const denied = await call('start', { workflow: 'echoer', input: {} }, runsOnly);
    const failed = await h.waitFor(denied.id, ['failed', 'completed']);
    assert.equal(failed.error?.code, 'E_CAPABILITY_DENIED');
    const allowed = await call('start', { workflow: 'echoer', input: {} });
    assert.equal((await h.waitFor(allowed.id, ['failed', 'completed'])).output, 'as starter');
  });

  it('keeps tenants apart: another tenant’s run is E_NOT_FOUND and is left untouched', async (t) => {
    const h = await setup(t, db());
    const call = caller(h);
    await h.worker();
    const run = await call('start', { workflow: 'gate', input: {} });
    await h.waitFor(run.id, ['waiting']);
    const other = await principal(h, [{ syscall: '*', resource: '*' }], true);
    for (const [name, input] of [
      ['get', { runId: run.id }],
      ['journal', { runId: run.id }],
      ['cancel', { runId: run.id }],
      ['retry', { runId: run.id }],
      ['signal', { runId: run.id, name: 'open', payload: 'from B' }],
    ] as const) {
      await assert.rejects(call(name, input, other), withCode('E_NOT_FOUND'), name);
    }
    assert.deepEqual((await call<Page>('list', {}, other)).runs, []);
    assert.equal((await call('get', { runId: run.id })).status, 'waiting');
  });

  it('refuses bad input with clear codes and stores nothing', async (t) => {
    const h = await setup(t, db());
    const call = caller(h);
    const count = async (table: string): Promise<number> =>
      Number((await h.store.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n);
    const done = await call('start', { workflow: 'greet', input: { name: 'x' } });
    await h.worker();
    await h.waitFor(done.id, ['completed']);
    const before = [await count('orch_runs'), await count('orch_signals')];
    const cases: [string, unknown, string][] = [
      ['start', { workflow: 'nope', input: {} }, 'E_UNKNOWN_WORKFLOW'],
      ['start', { workflow: 'greet', input: { name: 7 } }, 'E_INVALID_INPUT'],
      ['start', { workflow: 'greet', input: { name: 'x' }, version: 9 }, 'E_UNKNOWN_WORKFLOW'],
      ['start', { workflow: 'greet', input: {}, tenantId: 'ten_other' }, 'E_INVALID_INPUT'],
      ['signal', { runId: done.id, name: 'open' }, 'E_CONFLICT'],
      ['cancel', { runId: done.id }, 'E_CONFLICT'],
      ['retry', { runId: done.id }, 'E_CONFLICT'],
      ['cancel', { runId: 'run_unknown' }, 'E_NOT_FOUND'],
      ['signal', { runId: 'run_unknown', name: 'open' }, 'E_NOT_FOUND'],
      ['list', { status: 'sleeping' }, 'E_INVALID_INPUT'],
    ];
    for (const [name, input, code] of cases) {
      await assert.rejects(call(name, input), withCode(code), `${name} ${JSON.stringify(input)}`);
    }
    assert.deepEqual([await count('orch_runs'), await count('orch_signals')], before);
  });
});
