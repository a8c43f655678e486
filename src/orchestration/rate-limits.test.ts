// Token-bucket rate limits on both engines: steps that share a bucket never exceed its burst and
// refill rate; runs waiting for a token are suspended (they hold no worker); bad limits are refused.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { onEveryStore, withCode } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import { harness } from './testing.ts';

onEveryStore('rate limits', (db) => {
  it('spaces steps by the bucket’s refill rate after its burst', async () => {
    const times: number[] = [];
    const call = defineWorkflow(
      { name: 'limited', version: 1, input: z.number(), output: z.null() },
      async (ctx) => {
        await ctx.step('model-call', () => void times.push(Date.now()), { rateLimit: 'provider-a' });
        return null;
      },
    );
    const h = await harness(db());
    h.engine.register(call);
    await h.engine.setRateLimit('provider-a', { capacity: 2, perSecond: 5 });
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => h.engine.start('limited', i, { principal: h.principal })),
    );
    await h.worker({ concurrency: 10, pollMs: 20 });
    for (const run of runs) await h.waitFor(run.id, ['completed']);
    times.sort((a, b) => a - b);
    assert.equal(times.length, 6);
    // 2 at once (the burst), then one per 200 ms: the sixth no sooner than 4 × 200 ms after the first.
    assert.ok(
      (times[5] as number) - (times[0] as number) >= 750,
      `6 calls in ${(times[5] as number) - (times[0] as number)} ms`,
    );
    for (let i = 2; i < 6; i++) {
      const window = (times[i] as number) - (times[i - 2] as number);
      assert.ok(window >= 150, `3 calls within ${window} ms breaks the limit`);
    }
    await h.close();
  });

  it('refuses bad limits and unknown buckets', async () => {
    const h = await harness(db());
    await assert.rejects(
      h.engine.setRateLimit('x', { capacity: 0, perSecond: 1 }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      h.engine.setRateLimit('x', { capacity: 1, perSecond: Number.NaN }),
      withCode('E_INVALID_INPUT'),
    );
    const unknown = defineWorkflow(
      { name: 'unknown-bucket', version: 1, input: z.null(), output: z.null() },
      async (ctx) => {
        await ctx.step('s', () => null, { rateLimit: 'nope' });
        return null;
      },
    );
    h.engine.register(unknown);
    await h.worker();
    const run = await h.engine.start('unknown-bucket', null, { principal: h.principal });
    const failed = await h.waitFor(run.id, ['failed']);
    assert.equal(failed.error?.code, 'E_INVALID_INPUT');
    assert.match(failed.error?.message ?? '', /no rate limit "nope"/);
    await h.close();
  });
});
