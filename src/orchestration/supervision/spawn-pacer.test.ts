// Staggered spawns: the pacer's arithmetic (burst, then one start every 1/rate s, refilled by the
// journaled time), spec validation, and a paced supervisor on real durable runs whose children
// become runnable spread out at the spawn rate while an unpaced supervisor's all start at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { isStrataError } from '../../kernel/index.ts';
import { onEveryStore } from '../../testkit/stores.ts';
import { defineWorkflow } from '../define.ts';
import { harness } from '../testing.ts';
import { freshPacer, paceStart, type PacerState, type SpawnRate } from './spawn-pacer.ts';
import { defineSupervisor } from './supervisor.ts';

function delays(
  rate: SpawnRate,
  times: readonly number[],
  state: PacerState = freshPacer(rate, 0),
): number[] {
  const out: number[] = [];
  for (const at of times) {
    const paced = paceStart(rate, state, at);
    out.push(paced.delayMs);
    state = paced.state;
  }
  return out;
}

describe('spawn pacer', () => {
  it('lets the burst go at once, then spaces starts 1/rate apart', () => {
    assert.deepEqual(delays({ perSecond: 5, burst: 2 }, [0, 0, 0, 0, 0, 0]), [0, 0, 200, 400, 600, 800]);
    assert.deepEqual(delays({ perSecond: 2 }, [0, 0, 0]), [0, 0, 500], 'burst defaults to ceil(rate)');
  });

  it('refills with the journaled time: a later start owes only what is left of the debt', () => {
    assert.deepEqual(delays({ perSecond: 10, burst: 1 }, [0, 0, 0, 150, 1_000]), [0, 100, 200, 150, 0]);
  });

  it('refuses a bad spawn rate with E_INVALID_INPUT', () => {
    const child = defineWorkflow(
      { name: 'pace-bad.child', version: 1, input: z.unknown(), output: z.unknown() },
      () => Promise.resolve(null),
    );
    for (const spawnRate of [{ perSecond: 0 }, { perSecond: -1 }, { perSecond: 5, burst: 0.5 }])
      assert.throws(
        () =>
          defineSupervisor({
            name: `pace-bad.${spawnRate.perSecond}.${spawnRate.burst ?? ''}`,
            version: 1,
            strategy: 'one_for_one',
            spawnRate,
            children: [{ id: 'a', workflow: child, input: {} }],
          }),
        (e: unknown) => isStrataError(e) && e.code === 'E_INVALID_INPUT' && /spawnRate/.test(e.message),
      );
  });
});

/** When each child first ran (wall clock), by tag. */
const firstRun = new Map<string, number>();
const worker = defineWorkflow(
  { name: 'pace-test.agent', version: 1, input: z.object({ tag: z.string() }), output: z.string() },
  async (ctx, input) => {
    if (!firstRun.has(input.tag)) firstRun.set(input.tag, Date.now());
    await ctx.waitFor('finish');
    return input.tag;
  },
);
const children = (prefix: string) =>
  Array.from({ length: 6 }, (_, i) => ({ id: `c${i}`, workflow: worker, input: { tag: `${prefix}${i}` } }));
const paced = defineSupervisor({
  name: 'pace-test.paced',
  version: 1,
  strategy: 'one_for_one',
  spawnRate: { perSecond: 5, burst: 2 },
  children: children('p'),
});
const unpaced = defineSupervisor({
  name: 'pace-test.unpaced',
  version: 1,
  strategy: 'one_for_one',
  children: children('u'),
});

onEveryStore('staggered spawns', (db) => {
  it('a paced supervisor makes its children runnable at the spawn rate, burst first', async (t) => {
    firstRun.clear();
    const h = await harness(db());
    t.after(() => h.close());
    h.engine.register(worker);
    h.engine.register(paced);
    h.engine.register(unpaced);
    await h.worker({ concurrency: 20 });
    const sup = await h.engine.start('pace-test.paced', {}, { principal: h.principal });
    const plain = await h.engine.start('pace-test.unpaced', {}, { principal: h.principal });
    const deadline = Date.now() + 20_000;
    while (firstRun.size < 12 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(firstRun.size, 12, 'every child ran');
    // The pacer's time base is the supervisor's journaled start time (its one `now` entry); load
    // can only make a child start later than its slot, never earlier, so these bounds hold.
    const recorded = (await h.engine.journal(h.principal.tenantId, sup.id)).filter((r) => r.kind === 'now');
    assert.equal(recorded.length, 1, 'a paced supervisor records its start time once');
    const t0 = JSON.parse(recorded[0]?.output ?? 'null') as number;
    const startsOf = (prefix: string): number[] =>
      [0, 1, 2, 3, 4, 5].map((i) => firstRun.get(`${prefix}${i}`) ?? NaN).sort((a, b) => a - b);
    const p = startsOf('p').map((at) => at - t0);
    t.diagnostic(`paced child starts after the supervisor's start (ms): ${p.join(', ')}`);
    for (const [i, slot] of [0, 0, 200, 400, 600, 800].entries())
      assert.ok((p[i] ?? 0) >= slot - 5, `paced child ${i} started at +${p[i]} ms, its slot is +${slot}`);
    const u = startsOf('u');
    t.diagnostic(`unpaced child starts after the first (ms): ${u.map((at) => at - (u[0] ?? 0)).join(', ')}`);
    const plainJournal = await h.engine.journal(h.principal.tenantId, plain.id);
    assert.equal(plainJournal.filter((r) => r.kind === 'now').length, 0, 'unpaced histories are unchanged');
  });
});
