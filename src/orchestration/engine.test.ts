// Durable runs on both engines: steps journaled and replayed without repeating effects, timers and
// signals that survive a restart, children and cancellation, idempotent starts, non-determinism,
// versioning, retries into the dead-letter state, priorities, and bad input that changes nothing.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { ManualClock, StrataError } from '../kernel/index.ts';
import { onEveryStore, withCode } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import { harness } from './testing.ts';

const effects = new Map<string, number>();
const bump = (key: string): number => {
  const n = (effects.get(key) ?? 0) + 1;
  effects.set(key, n);
  return n;
};

const threeSteps = defineWorkflow(
  {
    name: 'three',
    version: 1,
    input: z.object({ key: z.string(), failOnce: z.boolean().default(false) }),
    output: z.number(),
    retry: { attempts: 3, baseDelayMs: 5 },
  },
  async (ctx, input) => {
    const a = await ctx.step('a', () => bump(`${input.key}:a`));
    const b = await ctx.step('b', () => bump(`${input.key}:b`));
    const c = await ctx.step('c', () => {
      const n = bump(`${input.key}:c`);
      if (input.failOnce && n === 1) throw new Error('transient failure');
      return n;
    });
    return a + b + c;
  },
);

const sleeper = defineWorkflow(
  { name: 'sleeper', version: 1, input: z.object({ key: z.string(), ms: z.number() }), output: z.string() },
  async (ctx, input) => {
    await ctx.step('before', () => bump(`${input.key}:before`));
    await ctx.sleep(input.ms);
    await ctx.step('after', () => bump(`${input.key}:after`));
    return 'woke';
  },
);

const approver = defineWorkflow(
  {
    name: 'approver',
    version: 1,
    input: z.object({ timeoutMs: z.number().optional() }),
    output: z.unknown(),
  },
  async (ctx, input) => {
    try {
      return await ctx.waitFor<{ ok: boolean }>('approve', { timeoutMs: input.timeoutMs });
    } catch (error) {
      if (error instanceof StrataError && error.code === 'E_WAIT_TIMEOUT') return 'timed out';
      throw error;
    }
  },
);

const parent = defineWorkflow(
  { name: 'parent', version: 1, input: z.object({}), output: z.unknown() },
  async (ctx) => {
    const child = await ctx.startChild(approver, {});
    return child.result();
  },
);

onEveryStore('durable runs', (db) => {
  it('runs three steps and journals each', async () => {
    const h = await harness(db());
    h.engine.register(threeSteps);
    await h.worker();
    const run = await h.engine.start('three', { key: `${db().dialect}-basic` }, { principal: h.principal });
    const done = await h.waitFor(run.id, ['completed']);
    assert.equal(done.output, 3);
    const journal = await h.engine.journal(h.principal.tenantId, run.id);
    assert.deepEqual(
      journal.map((j) => [j.seq, j.kind, j.name, j.status]),
      [
        [1, 'step', 'a', 'ok'],
        [2, 'step', 'b', 'ok'],
        [3, 'step', 'c', 'ok'],
      ],
    );
    await h.close();
  });

  it('replays journaled steps on retry without re-running their effects', async () => {
    const h = await harness(db());
    h.engine.register(threeSteps);
    await h.worker();
    const key = `${db().dialect}-replay`;
    const run = await h.engine.start('three', { key, failOnce: true }, { principal: h.principal });
    const done = await h.waitFor(run.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed');
    assert.equal(done.attempt, 2);
    assert.deepEqual([effects.get(`${key}:a`), effects.get(`${key}:b`), effects.get(`${key}:c`)], [1, 1, 2]);
    assert.equal(done.output, 1 + 1 + 2);
    await h.close();
  });

  it('keeps a timer across a restart of the whole process', async () => {
    const key = `${db().dialect}-sleep`;
    const first = await harness(db(), `sleep-${db().dialect}`);
    first.engine.register(sleeper);
    await first.worker();
    const run = await first.engine.start('sleeper', { key, ms: 400 }, { principal: first.principal });
    await first.waitFor(run.id, ['waiting']);
    await first.close(); // the process goes away while the run sleeps
    const second = await harness(db(), `sleep-${db().dialect}`);
    second.engine.register(sleeper);
    await second.worker();
    const done = await second.waitFor(run.id, ['completed']);
    assert.equal(done.output, 'woke');
    assert.equal(effects.get(`${key}:before`), 1);
    assert.equal(effects.get(`${key}:after`), 1);
    assert.ok((done.finishedAt ?? 0) - done.createdAt >= 400);
    await second.close();
  });

  it('delivers a signal sent after a restart, and times out cleanly without one', async () => {
    const first = await harness(db(), `signal-${db().dialect}`);
    first.engine.register(approver);
    await first.worker();
    const run = await first.engine.start('approver', {}, { principal: first.principal });
    const short = await first.engine.start('approver', { timeoutMs: 150 }, { principal: first.principal });
    await first.waitFor(run.id, ['waiting']);
    await first.close();
    const second = await harness(db(), `signal-${db().dialect}`);
    second.engine.register(approver);
    await second.worker();
    await second.engine.signal(second.principal.tenantId, run.id, 'approve', { ok: true });
    assert.deepEqual((await second.waitFor(run.id, ['completed'])).output, { ok: true });
    assert.equal((await second.waitFor(short.id, ['completed'])).output, 'timed out');
    await assert.rejects(
      second.engine.signal(second.principal.tenantId, run.id, 'approve', {}),
      withCode('E_CONFLICT'),
    );
    await second.close();
  });

  it('cancellation reaches children', async () => {
    const h = await harness(db());
    h.engine.register(approver);
    h.engine.register(parent);
    await h.worker();
    const run = await h.engine.start('parent', {}, { principal: h.principal });
    await h.waitFor(run.id, ['waiting']);
    const [child] = await h.engine.list(h.principal.tenantId, { parentId: run.id });
    assert.ok(child);
    await h.waitFor(child.id, ['waiting']);
    await h.engine.cancel(h.principal.tenantId, run.id);
    assert.equal((await h.waitFor(run.id, ['cancelled'])).status, 'cancelled');
    assert.equal((await h.engine.get(h.principal.tenantId, child.id)).status, 'cancelled');
    await h.close();
  });

  it('a parent awaits its child’s result durably', async () => {
    const h = await harness(db());
    h.engine.register(approver);
    h.engine.register(parent);
    await h.worker();
    const run = await h.engine.start('parent', {}, { principal: h.principal });
    await h.waitFor(run.id, ['waiting']);
    const [child] = await h.engine.list(h.principal.tenantId, { parentId: run.id });
    await h.waitFor(child?.id ?? '', ['waiting']);
    await h.engine.signal(h.principal.tenantId, child?.id ?? '', 'approve', { from: 'child' });
    assert.deepEqual((await h.waitFor(run.id, ['completed'])).output, { from: 'child' });
    assert.equal((await h.engine.get(h.principal.tenantId, run.id)).rootId, run.id);
    await h.close();
  });

  it('an idempotency key returns the same run', async () => {
    const h = await harness(db());
    h.engine.register(threeSteps);
    const starts = await Promise.all(
      Array.from({ length: 5 }, () =>
        h.engine.start('three', { key: 'idem' }, { principal: h.principal, idempotencyKey: 'order-42' }),
      ),
    );
    assert.equal(new Set(starts.map((r) => r.id)).size, 1);
    assert.equal((await h.engine.list(h.principal.tenantId)).length, 1);
    h.engine.register(sleeper);
    await assert.rejects(
      h.engine.start('sleeper', { key: 'k', ms: 1 }, { principal: h.principal, idempotencyKey: 'order-42' }),
      withCode('E_CONFLICT'),
    );
    await h.close();
  });

  it('starts 600 runs in bulk (two insert statements), every one completing', async () => {
    const h = await harness(db());
    h.engine.register(threeSteps);
    const inputs = Array.from({ length: 600 }, (_, i) => ({ key: `${db().dialect}-bulk-${i}` }));
    const ids = await h.engine.startMany('three', inputs, { principal: h.principal });
    assert.equal(new Set(ids).size, 600);
    await h.worker({ concurrency: 100 });
    for (const id of ids) await h.waitFor(id, ['completed'], 30_000);
    const done = await h.store.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM orch_runs WHERE status = 'completed' AND tenant_id = ?",
      [h.principal.tenantId],
    );
    assert.equal(Number(done?.n), 600);
    assert.equal(effects.get(`${db().dialect}-bulk-599:c`), 1);
    await h.close();
  });

  it('detects non-determinism and names the step', async () => {
    const name = 'nd';
    const v1 = defineWorkflow({ name, version: 1, input: z.object({}), output: z.string() }, async (ctx) => {
      await ctx.step('charge', () => 1);
      await ctx.sleep(3_600_000); // long enough to be seen waiting however loaded the machine is
      return 'v1';
    });
    const changed = defineWorkflow(
      { name, version: 1, input: z.object({}), output: z.string() },
      async (ctx) => {
        await ctx.step('refund', () => 1);
        return 'changed';
      },
    );
    const first = await harness(db(), `nd-${db().dialect}`);
    first.engine.register(v1);
    await first.worker();
    const run = await first.engine.start(name, {}, { principal: first.principal });
    await first.waitFor(run.id, ['waiting']);
    await first.close();
    const second = await harness(db(), `nd-${db().dialect}`);
    second.engine.register(changed); // same name and version, different code: a bad deploy
    await second.worker();
    await second.engine.wake(second.store, run.id);
    const failed = await second.waitFor(run.id, ['failed']);
    assert.equal(failed.error?.code, 'E_NONDETERMINISM');
    assert.match(failed.error?.message ?? '', /step 1.*"charge".*"refund"/);
    await second.close();
  });

  it('runs started on version 1 finish on version 1 after version 2 is deployed', async () => {
    const def = (version: number) =>
      defineWorkflow({ name: 'versioned', version, input: z.object({}), output: z.number() }, async (ctx) => {
        await ctx.sleep(50);
        return version;
      });
    const h = await harness(db());
    h.engine.register(def(1));
    const old = await h.engine.start('versioned', {}, { principal: h.principal });
    h.engine.register(def(2));
    const fresh = await h.engine.start('versioned', {}, { principal: h.principal });
    await h.worker();
    assert.equal((await h.waitFor(old.id, ['completed'])).output, 1);
    assert.equal((await h.waitFor(fresh.id, ['completed'])).output, 2);
    await h.close();
  });

  it('retries with backoff, then dead-letters with the last error', async () => {
    let attempts = 0;
    const failing = defineWorkflow(
      {
        name: 'failing',
        version: 1,
        input: z.object({}),
        output: z.null(),
        retry: { attempts: 3, baseDelayMs: 5 },
      },
      async (ctx) => {
        await ctx.step('boom', () => {
          attempts++;
          throw new Error(`boom ${attempts}`);
        });
        return null;
      },
    );
    const h = await harness(db());
    h.engine.register(failing);
    await h.worker();
    const run = await h.engine.start('failing', {}, { principal: h.principal });
    const dead = await h.waitFor(run.id, ['failed']);
    assert.equal(attempts, 3);
    assert.equal(dead.attempt, 3);
    assert.equal(dead.error?.message, 'boom 3');
    assert.equal((await h.engine.list(h.principal.tenantId, { status: 'failed' })).length, 1);
    await h.close();
  });

  it('a transient store failure leaves the run to its lease: resumed by replay, no attempt spent', async () => {
    let executions = 0;
    let effects = 0;
    const flaky = defineWorkflow(
      { name: 'flaky-store', version: 1, input: z.object({}), output: z.number() },
      async (ctx) => {
        await ctx.step('effect', () => ++effects);
        executions++;
        // As a deadlock on a journal write would surface: retryable E_STORE from the store driver.
        if (executions === 1)
          throw new StrataError(
            'E_STORE',
            'postgres: deadlock detected',
            { driverCode: '40P01' },
            { retryable: true },
          );
        return effects;
      },
    );
    const h = await harness(db());
    h.engine.register(flaky);
    await h.worker({ leaseMs: 300 });
    try {
      const run = await h.engine.start('flaky-store', {}, { principal: h.principal });
      const done = await h.waitFor(run.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed');
      assert.equal(done.output, 1, 'the journaled step was not run again');
      assert.equal(done.attempt, 1, 'no attempt spent');
      assert.equal(executions, 2);
    } finally {
      await h.close();
    }
  });

  it('a deadlock journaling a step result, or thrown by a step, is not journaled as the step outcome', async (t) => {
    // A real 40P01 from PostgreSQL on the step's journal write (a trigger raises it once); SQLite
    // has no deadlocks, so there the step itself throws the transient error.
    const onPostgres = db().dialect === 'postgres';
    let calls = 0;
    const wf = defineWorkflow(
      { name: 'journal-deadlock', version: 1, input: z.object({}), output: z.number() },
      async (ctx) => {
        const n = await ctx.step('work', () => {
          calls++;
          if (!onPostgres && calls === 1)
            throw new StrataError('E_STORE', 'deadlock', { driverCode: '40P01' }, { retryable: true });
          return calls;
        });
        return n;
      },
    );
    const h = await harness(db());
    t.after(() => h.close());
    if (onPostgres)
      await h.store.transaction(async (tx) => {
        await tx.run('CREATE SEQUENCE journal_deadlock_once');
        await tx.run(`CREATE FUNCTION journal_deadlock() RETURNS trigger AS $$ BEGIN
            IF NEW.name = 'work' AND nextval('journal_deadlock_once') = 1 THEN
              RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01';
            END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
        await tx.run(`CREATE TRIGGER journal_deadlock BEFORE INSERT ON orch_journal
            FOR EACH ROW EXECUTE FUNCTION journal_deadlock()`);
      });
    h.engine.register(wf);
    await h.worker({ leaseMs: 300 });
    const run = await h.engine.start('journal-deadlock', {}, { principal: h.principal });
    const done = await h.waitFor(run.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.attempt, 1, 'no attempt spent');
    assert.equal(calls, 2, 'the step ran again on replay: its first outcome was never journaled');
    assert.equal(done.output, 2);
    if (onPostgres)
      await h.store.transaction((tx) => tx.run('DROP TRIGGER journal_deadlock ON orch_journal'));
  });

  it('claims higher priority first and honours delays', async () => {
    const order: string[] = [];
    const note = defineWorkflow(
      { name: 'note', version: 1, input: z.string(), output: z.null() },
      async (ctx, label) => {
        await ctx.step('note', () => void order.push(label));
        return null;
      },
    );
    // The engine's time moves only when told: with the real clock, a loaded machine could take
    // longer than the delay to start the worker, and the due priority-99 run would rightly go first.
    const clock = new ManualClock(Date.now());
    const h = await harness(db(), undefined, clock);
    h.engine.register(note);
    const low = await h.engine.start('note', 'low', { principal: h.principal, priority: 0 });
    const high = await h.engine.start('note', 'high', { principal: h.principal, priority: 10 });
    const later = await h.engine.start('note', 'later', {
      principal: h.principal,
      priority: 99,
      delayMs: 300,
    });
    await h.worker({ concurrency: 1 });
    await h.waitFor(low.id, ['completed']);
    await h.waitFor(high.id, ['completed']);
    assert.deepEqual(order, ['high', 'low']);
    clock.advance(299); // still 1 ms early: the highest priority does not jump its delay
    await new Promise((r) => setTimeout(r, 100)); // several 20 ms polls of the worker
    assert.equal((await h.engine.get(h.principal.tenantId, later.id)).status, 'queued');
    clock.advance(1);
    await h.waitFor(later.id, ['completed']);
    assert.deepEqual(order, ['high', 'low', 'later']);
    await h.close();
  });

  it('calls syscalls as the run’s principal and records their cost on the run', async () => {
    const h = await harness(db());
    const caller = defineWorkflow(
      { name: 'caller', version: 1, input: z.object({}), output: z.string() },
      async (ctx) => {
        const echoed = (await ctx.kernel['echo']?.({ message: 'from a run' })) as { message: string };
        const time = (await ctx.kernel['time']?.({})) as { now: number };
        if (typeof time.now !== 'number') throw new Error('kernel.time through ctx.kernel.time failed');
        await ctx.syscall('test.priced', {});
        return echoed.message;
      },
    );
    const { defineSyscall } = await import('../kernel/index.ts');
    h.kernel.register(
      defineSyscall({
        name: 'test.priced',
        description: 'costs 250',
        input: z.object({}),
        output: z.object({}),
        idempotency: 'pure',
        estimateCost: () => 250,
        handler: () => ({}),
      }),
    );
    h.engine.register(caller);
    await h.worker();
    const run = await h.engine.start('caller', {}, { principal: h.principal });
    const done = await h.waitFor(run.id, ['completed']);
    assert.equal(done.output, 'from a run');
    assert.equal(done.costMicros, 250);
    await h.close();
  });

  it('fails a run that exceeds its timeout with E_RUN_TIMEOUT', async () => {
    const slow = defineWorkflow(
      {
        name: 'slow',
        version: 1,
        input: z.object({}),
        output: z.null(),
        timeoutMs: 1_000,
        retry: { attempts: 3, baseDelayMs: 5 },
      },
      async (ctx) => {
        for (let i = 0; i < 100; i++)
          await ctx.step(`tick-${i}`, () => new Promise((r) => setTimeout(r, 40)));
        return null;
      },
    );
    const h = await harness(db());
    h.engine.register(slow);
    await h.worker();
    const run = await h.engine.start('slow', {}, { principal: h.principal });
    const failed = await h.waitFor(run.id, ['failed', 'completed']);
    assert.equal(failed.error?.code, 'E_RUN_TIMEOUT');
    assert.equal(failed.attempt, 1, 'a timed-out run is not retried');
    const steps = (await h.engine.journal(h.principal.tenantId, run.id)).length;
    assert.ok(steps > 0 && steps < 100);
    await h.close();
  });

  it('refuses bad input with clear codes and changes nothing', async () => {
    const h = await harness(db());
    h.engine.register(threeSteps);
    const count = async (): Promise<number> =>
      Number((await h.store.get<{ n: number }>('SELECT COUNT(*) AS n FROM orch_runs'))?.n);
    const before = await count();
    await assert.rejects(
      h.engine.start('nope', {}, { principal: h.principal }),
      withCode('E_UNKNOWN_WORKFLOW'),
    );
    await assert.rejects(
      h.engine.start('three', { key: 7 }, { principal: h.principal }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      h.engine.start('three', { key: 'k' }, { principal: h.principal, version: 9 }),
      withCode('E_UNKNOWN_WORKFLOW'),
    );
    await assert.rejects(h.engine.cancel(h.principal.tenantId, 'run_unknown'), withCode('E_NOT_FOUND'));
    await assert.rejects(
      h.engine.signal(h.principal.tenantId, 'run_unknown', 'x', {}),
      withCode('E_NOT_FOUND'),
    );
    // Bulk start is all or nothing: one bad input among valid ones stores none of them.
    await assert.rejects(
      h.engine.startMany('three', [{ key: 'a' }, { key: 3 }, { key: 'c' }], { principal: h.principal }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      h.engine.startMany('three', [{ key: 'a' }], { principal: h.principal, idempotencyKey: 'k' }),
      withCode('E_INVALID_INPUT'),
    );
    assert.equal(await count(), before);
    await h.close();
  });
});
