// `run:changed` on the kernel event bus, end to end on both engines: real runs started through the
// engine and executed by a worker publish their status transitions in seq order (queued, running,
// completed; a failing run ends failed with its code; a cancelled one cancelled), readable through
// `kernel.events.since` and through `GET /v1/events`, where a worker's publish reaches a connected
// client promptly (the stream's own timers are set far off, so only the bus's dispatch can wake it).
// A rolled-back transaction publishes nothing, and no payload carries a run's input or output.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { StrataError, type StrataEvent } from '../kernel/index.ts';
import { onEveryStore } from '../testkit/stores.ts';
import { defineWorkflow } from './define.ts';
import type { RunChangedPayload } from './run-events.ts';
import { harness, type Harness } from './testing.ts';

const SECRET = 'input-that-must-not-leak';

const echo = defineWorkflow(
  { name: 'ev-echo', version: 1, input: z.object({ note: z.string() }), output: z.string() },
  async (ctx, input) => ctx.step('echo', () => `${input.note}!`),
);
const failing = defineWorkflow(
  { name: 'ev-fail', version: 1, input: z.object({ note: z.string() }), output: z.null() },
  async (ctx) =>
    ctx.step('boom', () => {
      throw new StrataError('E_INVALID_INPUT', 'refused on purpose');
    }),
);
const sleepy = defineWorkflow(
  { name: 'ev-sleep', version: 1, input: z.null(), output: z.null() },
  async (ctx) => {
    await ctx.sleep(60_000);
    return null;
  },
);

/** The statuses `run:changed` reported for `runId`, in seq order, once `last` is among them. */
async function statusesOf(h: Harness, runId: string, last: string): Promise<RunChangedPayload[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = (await h.kernel.events.since(0, 10_000)).filter(
      (e) => e.topic === 'run:changed' && (e.payload as RunChangedPayload).id === runId,
    );
    assertSeqOrder(events);
    const payloads = events.map((e) => e.payload as RunChangedPayload);
    if (payloads.some((p) => p.status === last)) return payloads;
    if (Date.now() > deadline) assert.fail(`no ${last} event for ${runId}: ${JSON.stringify(payloads)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function assertSeqOrder(events: readonly StrataEvent[]): void {
  for (let i = 1; i < events.length; i++)
    assert.ok((events[i] as StrataEvent).seq > (events[i - 1] as StrataEvent).seq, 'seq order');
}

onEveryStore('run:changed events', (db) => {
  it('a run publishes queued, running, completed; a failing one failed with its code; a cancel', async () => {
    const h = await harness(db());
    h.engine.register(echo);
    h.engine.register(failing);
    h.engine.register(sleepy);
    try {
      await h.worker();
      const ok = await h.engine.start('ev-echo', { note: SECRET }, { principal: h.principal });
      const okEvents = await statusesOf(h, ok.id, 'completed');
      assert.deepEqual(
        okEvents.map((p) => p.status),
        ['queued', 'running', 'completed'],
      );
      assert.deepEqual(okEvents[2], { id: ok.id, workflow: 'ev-echo', status: 'completed', attempt: 1 });

      const bad = await h.engine.start('ev-fail', { note: SECRET }, { principal: h.principal });
      const badEvents = await statusesOf(h, bad.id, 'failed');
      assert.deepEqual(
        badEvents.map((p) => p.status),
        ['queued', 'running', 'failed'],
      );
      assert.deepEqual(badEvents[2]?.error, { code: 'E_INVALID_INPUT' });

      const sleeping = await h.engine.start('ev-sleep', null, { principal: h.principal });
      await statusesOf(h, sleeping.id, 'waiting');
      await h.engine.cancel(h.principal.tenantId, sleeping.id);
      const cancelled = await statusesOf(h, sleeping.id, 'cancelled');
      assert.deepEqual(
        cancelled.map((p) => p.status),
        ['queued', 'running', 'waiting', 'cancelled'],
      );
      assert.deepEqual(cancelled[3]?.error, { code: 'E_CANCELLED' });

      await h.engine.retry(h.principal.tenantId, bad.id);
      const retried = await statusesOf(h, bad.id, 'queued');
      assert.equal(retried.filter((p) => p.status === 'queued').length >= 2, true, 'retry queues it again');

      const all = await h.kernel.events.since(0, 10_000);
      assert.ok(all.every((e) => e.tenantId !== h.principal.tenantId || !JSON.stringify(e).includes(SECRET)));
    } finally {
      await h.close();
    }
  });

  it('publishes nothing when the starting transaction rolls back', async () => {
    const h = await harness(db());
    h.engine.register(echo);
    try {
      const before = await h.kernel.events.since(0, 10_000);
      const head = before.at(-1)?.seq ?? 0;
      let started = '';
      await assert.rejects(
        h.store.transaction(async (tx) => {
          started = (await h.engine.start('ev-echo', { note: 'x' }, { principal: h.principal }, tx)).id;
          throw new Error('abort');
        }),
      );
      assert.notEqual(started, '');
      const afterwards = await h.kernel.events.since(head, 10_000);
      assert.deepEqual(
        afterwards.filter((e) => (e.payload as RunChangedPayload | null)?.id === started),
        [],
      );
    } finally {
      await h.close();
    }
  });
});
