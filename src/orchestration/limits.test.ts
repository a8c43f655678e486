// Concurrency limits on both engines: a tenant limited to 2 never has more than 2 runs running,
// with three workers competing; unlimited work is not held back; bad limits are refused.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { onEveryStore, withCode } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import { harness } from './testing.ts';

onEveryStore('concurrency limits', (db) => {
  it('holds a per-workflow limit across three workers', async () => {
    let running = 0;
    let peak = 0;
    const busy = defineWorkflow(
      { name: 'busy', version: 1, input: z.number(), output: z.null() },
      async (ctx) => {
        await ctx.step('work', async () => {
          peak = Math.max(peak, ++running);
          await new Promise((r) => setTimeout(r, 60));
          running--;
        });
        return null;
      },
    );
    const free = defineWorkflow({ name: 'free', version: 1, input: z.number(), output: z.null() }, () =>
      Promise.resolve(null),
    );
    const h = await harness(db());
    h.engine.register(busy);
    h.engine.register(free);
    await h.engine.setConcurrencyLimit({ scope: 'workflow', key: 'busy', maxRunning: 2 });
    const limited = await h.engine.startMany('busy', [1, 2, 3, 4, 5, 6, 7, 8], { principal: h.principal });
    const unlimited = await h.engine.startMany('free', [1, 2, 3, 4], { principal: h.principal });
    await Promise.all([
      h.worker({ concurrency: 5 }),
      h.worker({ concurrency: 5 }),
      h.worker({ concurrency: 5 }),
    ]);
    for (const id of unlimited) await h.waitFor(id, ['completed'], 5_000);
    for (const id of limited) await h.waitFor(id, ['completed'], 20_000);
    assert.equal(peak, 2, `peak concurrency ${peak}`);
    await h.close();
  });

  it('refuses bad limits', async () => {
    const h = await harness(db());
    await assert.rejects(
      h.engine.setConcurrencyLimit({ scope: 'tenant', key: 't', maxRunning: 0 }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      h.engine.setConcurrencyLimit({ scope: 'tenant', key: 't', maxRunning: 1.5 }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      h.engine.setConcurrencyLimit({ scope: 'planet' as 'tenant', key: 't', maxRunning: 1 }),
      withCode('E_INVALID_INPUT'),
    );
    await h.close();
  });
});
