// Fleet events on the kernel event bus, on both engines: an approval publishes `approval:changed`
// when requested and when decided; an escalation `escalation:changed` on raise, ack and resolve (and
// nothing when the raising transaction rolls back); a run joining a budget pause `budget:changed`
// (paused). Payloads hold ids and statuses only.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { z } from 'zod';
import { readFeed, systemClock } from '../kernel/index.ts';
import { onEveryStore } from '../testkit/stores.ts';
import { Approvals } from './approvals/index.ts';
import { joinPause } from './budget-pause/pauses.ts';
import { BudgetPauses } from './budget-pause/index.ts';
import { defineWorkflow } from './define.ts';
import { Escalations, raiseEscalation } from './escalations/index.ts';
import { harness, type Harness } from './testing.ts';

const idle = defineWorkflow({ name: 'fe-idle', version: 1, input: z.null(), output: z.null() }, () =>
  Promise.resolve(null),
);

const payloads = async (h: Harness, pattern: string): Promise<unknown[]> =>
  (
    await readFeed(h.store, { tenantId: h.principal.tenantId, after: 0, patterns: [pattern], limit: 1000 })
  ).map((e) => e.payload);

onEveryStore('fleet events', (db) => {
  it('approval:changed on request and decision', async () => {
    const h = await harness(db());
    h.engine.register(idle);
    try {
      const approvals = await Approvals.open({
        store: h.store,
        engine: h.engine,
        masterKey: randomBytes(32),
        clock: systemClock,
      });
      const run = await h.engine.start('fe-idle', null, { principal: h.principal });
      const tenant = h.principal.tenantId;
      const asked = await approvals.request(
        tenant,
        { runId: run.id, requestKey: 'k1' },
        { question: 'ship it? secret-question', approvers: [h.principal.id], onTimeout: 'reject' },
      );
      await approvals.request(
        tenant,
        { runId: run.id, requestKey: 'k1' },
        { question: 'ship it? secret-question', approvers: [h.principal.id], onTimeout: 'reject' },
      );
      await approvals.decide(tenant, asked.id, { decision: 'approve', principal: h.principal, via: 'api' });
      assert.deepEqual(await payloads(h, 'approval:*'), [
        { id: asked.id, runId: run.id, status: 'pending' },
        { id: asked.id, runId: run.id, status: 'approved' },
      ]);
    } finally {
      await h.close();
    }
  });

  it('escalation:changed on raise, ack and resolve; nothing from a rolled-back raise', async () => {
    const h = await harness(db());
    try {
      const escalations = await Escalations.open({ store: h.store });
      const tenant = h.principal.tenantId;
      const input = { key: 'db-down', severity: 'P2' as const, title: 'db down', source: 'test' };
      await assert.rejects(
        h.store.transaction(async (tx) => {
          await raiseEscalation(tx, tenant, { ...input, key: 'rolled-back' });
          throw new Error('abort');
        }),
      );
      const raised = await escalations.raise(tenant, input);
      await escalations.raise(tenant, input); // a bump of the same open item
      await escalations.ack(tenant, raised.id, 'ops');
      await escalations.resolve(tenant, raised.id, 'ops');
      assert.deepEqual(await payloads(h, 'escalation:changed'), [
        { id: raised.id, status: 'open' },
        { id: raised.id, status: 'open' },
        { id: raised.id, status: 'acked' },
        { id: raised.id, status: 'resolved' },
      ]);
    } finally {
      await h.close();
    }
  });

  it('budget:changed when a run joins a budget pause', async () => {
    const h = await harness(db());
    h.engine.register(idle);
    try {
      await BudgetPauses.open({ store: h.store, engine: h.engine });
      const run = await h.engine.start('fe-idle', null, { principal: h.principal });
      const budget = {
        budgetId: 'bud_1',
        scope: 'tenant',
        subject: '',
        period: 'month',
        currency: 'USD',
        limit: '10',
        available: '0',
        requested: '1',
      };
      const now = Date.now();
      const joined = await h.store.transaction((tx) =>
        joinPause(tx, { runId: run.id, syscall: 'models.chat', budget, failedAt: now, now }),
      );
      assert.deepEqual(await payloads(h, 'budget:changed'), [
        { id: joined.pauseId, runId: run.id, status: 'paused' },
      ]);
    } finally {
      await h.close();
    }
  });
});
