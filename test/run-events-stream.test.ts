// `run:changed` through `GET /v1/events` on both engines: a run started through the engine and
// executed by a worker reaches a connected client as queued, running, completed, the completion
// within 500 ms of its commit. The stream's own timers are set far off, so only the bus's wake-up
// after the commit can reach the client in time. (The events themselves, their order and what they
// leave out: src/orchestration/run-events.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { z } from 'zod';
import { sseMessages, type SseMessage } from '../src/cli/sse.ts';
import { configSchema } from '../src/kernel/index.ts';
import { defineWorkflow } from '../src/orchestration/define.ts';
import type { RunChangedPayload } from '../src/orchestration/run-events.ts';
import { harness } from '../src/orchestration/testing.ts';
import { createApp } from '../src/server/app.ts';
import { eventStreamRoutes } from '../src/server/events-stream.ts';
import { onEveryStore } from '../src/testkit/stores.ts';

const echo = defineWorkflow(
  { name: 'ev-echo', version: 1, input: z.object({ note: z.string() }), output: z.string() },
  async (ctx, input) => ctx.step('echo', () => `${input.note}!`),
);

onEveryStore('run:changed over GET /v1/events', (db) => {
  it('reaches a GET /v1/events client promptly, woken by the bus after the commit', async () => {
    const h = await harness(db());
    h.engine.register(echo);
    const { key } = await h.kernel.principals.createApiKey({
      tenantId: h.principal.tenantId,
      name: 'watch',
      grants: [{ syscall: 'kernel.events.read', resource: '*' }],
    });
    const app = createApp({
      kernel: h.kernel,
      config: configSchema.parse({ dataDir: mkdtempSync(join(tmpdir(), 'strata-run-events-')) }),
      // Far-off timers: only the bus's own wake-up after a commit can wake this stream in time.
      apiRoutes: [eventStreamRoutes({ kernel: h.kernel, pollMs: 60_000, headCheckMs: 60_000 })],
    });
    const handlers = h.kernel.events.handlerCount;
    const res = await app.request('/v1/events?topics=run:changed', {
      headers: { authorization: `Bearer ${key}` },
    });
    const messages: AsyncIterator<SseMessage> = sseMessages(res.body as AsyncIterable<Uint8Array>)[
      Symbol.asyncIterator
    ]();
    try {
      assert.equal(res.status, 200);
      const ready = await messages.next();
      assert.equal(ready.done === true ? undefined : ready.value.event, 'ready');
      await h.worker();
      const run = await h.engine.start('ev-echo', { note: 'hi' }, { principal: h.principal });
      const seen: { status: string; at: number }[] = [];
      let completedAt = 0;
      while (seen.at(-1)?.status !== 'completed') {
        const m = await Promise.race([
          messages.next(),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event in 2 s')), 2_000)),
        ]);
        if (m.done === true) assert.fail('stream ended');
        const data = JSON.parse(m.value.data) as { payload: RunChangedPayload };
        if (data.payload.id === run.id) seen.push({ status: data.payload.status, at: Date.now() });
        if (data.payload.status === 'completed' && completedAt === 0) {
          const row = await h.engine.get(h.principal.tenantId, run.id);
          completedAt = row.finishedAt ?? 0;
        }
      }
      assert.deepEqual(
        seen.map((s) => s.status),
        ['queued', 'running', 'completed'],
      );
      const lag = (seen.at(-1)?.at ?? 0) - completedAt;
      assert.ok(lag < 500, `completed reached the client ${lag} ms after it was written`);
    } finally {
      await messages.return?.(); // the client goes away: the stream unsubscribes
      for (let i = 0; i < 200 && h.kernel.events.handlerCount > handlers; i++)
        await new Promise((r) => setTimeout(r, 10));
      await h.close();
    }
  });
});
