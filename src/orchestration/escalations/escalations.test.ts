/**
 * Escalations on both engines through the kernel: 100 raises of one key leave one open item with
 * count 100; ack stops re-escalation; a stale open item is bumped one severity and notified again
 * over its tenant's mail route (real SMTP to a sink on loopback); resolve, then a new item; other
 * tenants see nothing; bad input refused; a dead-lettered run raises a P2 item per workflow.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { z } from 'zod';
import { Mail, memoryResolver, smtpSink } from '../../identity/index.ts';
import { ManualClock, silentLogger, type Principal } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { openFleetAlerts, type FleetAlerts } from '../approvals/open.ts';
import { defineWorkflow } from '../define.ts';
import { harness, type Harness } from '../testing.ts';
import type { Escalation } from './escalation-row.ts';
import { sweepEscalations } from './sweeper.ts';

/** Header lines as one line each (RFC 5322 folding undone). */
const unfolded = (raw: Buffer): string => raw.toString().replace(/\r\n[ \t]+/g, ' ');

const doomed = defineWorkflow(
  {
    name: 'doomed',
    version: 1,
    input: z.object({}),
    output: z.null(),
    retry: { attempts: 2, baseDelayMs: 1 },
  },
  async (ctx) => {
    await ctx.step('boom', () => {
      throw new Error('always fails');
    });
    return null;
  },
);

onEveryStore('escalations', (db) => {
  let h: Harness;
  let alerts: FleetAlerts;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  let other: Principal;
  // Escalation time only moves when the test says so: staleness must not depend on how long the
  // syscalls between a raise and a sweep take on a loaded machine (they took > 100 ms on PostgreSQL).
  const clock = new ManualClock(Date.now());
  const call = <T>(name: string, input: unknown, principal: Principal = h.principal): Promise<T> =>
    h.kernel.call<T>(name, input, { principal });
  const raise = (key: string, severity = 'P2') =>
    call<Escalation>('escalations.raise', { key, severity, title: `${key} is down`, source: 'test' });

  before(async () => {
    sink = await smtpSink();
    h = await harness(db(), 'acme');
    const mail = await Mail.open({
      store: h.store,
      masterKey: randomBytes(32),
      hostname: 'mx.strata.example',
      relay: { host: '127.0.0.1', port: sink.port },
      resolver: memoryResolver({}),
    });
    await mail.createMailbox({ tenant: h.principal.tenantId, agent: 'ops', address: 'ops@strata.example' });
    alerts = await openFleetAlerts({
      store: h.store,
      kernel: h.kernel,
      engine: h.engine,
      masterKey: randomBytes(32),
      clock,
      logger: silentLogger(),
      mail,
      sweepIntervalMs: 3_600_000,
    });
    h.engine.register(doomed);
    const tenant = await h.kernel.principals.createTenant('globex');
    const { key } = await h.kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'g',
      grants: [{ syscall: '*', resource: '*' }],
    });
    other = await h.kernel.authenticate({ apiKey: key });
  });
  after(async () => {
    await alerts.close();
    await h.close();
    await sink.close();
  });

  it('100 raises of one key: one open item with count 100; a higher severity is kept', async () => {
    await Promise.all(Array.from({ length: 99 }, () => raise('db-primary')));
    const last = await raise('db-primary', 'P1');
    assert.equal(last.count, 100);
    assert.equal(last.severity, 'P1');
    const { escalations } = await call<{ escalations: Escalation[] }>('escalations.list', {});
    assert.deepEqual(
      escalations.filter((e) => e.key === 'db-primary').map((e) => [e.count, e.status]),
      [[100, 'open']],
    );
  });

  it('tenants are isolated: another tenant sees nothing and cannot ack', async () => {
    const item = await raise('isolated');
    assert.deepEqual(
      (await call<{ escalations: Escalation[] }>('escalations.list', {}, other)).escalations,
      [],
    );
    await assert.rejects(call('escalations.ack', { id: item.id }, other), withCode('E_NOT_FOUND'));
    await assert.rejects(
      call('escalations.raise', { key: 'x', severity: 'P9', title: 't' }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      call('escalations.route.set', { channel: 'mail', target: 'a@b.example' }),
      withCode('E_INVALID_INPUT'),
    );
  });

  it('a stale open item is bumped and mailed again; an acked one is not; resolve opens a new one next time', async () => {
    await call('escalations.route.set', {
      channel: 'mail',
      mailbox: 'ops@strata.example',
      target: 'oncall@corp.example',
      who: ['ada'],
      staleAfterMs: 60_000,
    });
    const stale = await raise('disk-full');
    const acked = await raise('cpu-hot');
    await call('escalations.ack', { id: acked.id });
    await assert.rejects(call('escalations.ack', { id: acked.id }), withCode('E_CONFLICT'));
    await sweepEscalations(alerts.escalations); // first notifications
    const mailed = (subject: string) =>
      sink.received.filter((m) => unfolded(m.raw).includes(`Subject: ${subject}`)).length;
    assert.equal(mailed('[P2] disk-full is down'), 1);
    clock.advance(59_999); // 1 ms short of stale: not bumped
    await sweepEscalations(alerts.escalations);
    assert.deepEqual(
      [(await call<Escalation>('escalations.get', { id: stale.id })).bumps, mailed('[P1] disk-full')],
      [0, 0],
    );
    clock.advance(1);
    await sweepEscalations(alerts.escalations);
    const bumped = await call<Escalation>('escalations.get', { id: stale.id });
    assert.deepEqual([bumped.severity, bumped.bumps], ['P1', 1]);
    assert.equal(mailed('[P1] disk-full is down (re-escalated 1'), 1);
    assert.equal((await call<Escalation>('escalations.get', { id: acked.id })).severity, 'P2');
    const resolved = await call<Escalation>('escalations.resolve', { id: stale.id });
    assert.equal(resolved.status, 'resolved');
    const again = await raise('disk-full');
    assert.notEqual(again.id, stale.id);
    assert.equal(again.count, 1);
  });

  it('a run dead-lettered after its last attempt raises a P2 escalation per workflow', async () => {
    await call('escalations.route.set', { channel: 'none' }); // no stale bumps during this test
    await h.worker();
    const runs = await Promise.all(
      [1, 2].map(() => h.engine.start('doomed', {}, { principal: h.principal })),
    );
    for (const run of runs) await h.waitFor(run.id, ['failed']);
    await sweepEscalations(alerts.escalations);
    await sweepEscalations(alerts.escalations); // a second sweep counts nothing twice
    const { escalations } = await call<{ escalations: Escalation[] }>('escalations.list', {});
    const item = escalations.find((e) => e.key === 'run-dead-lettered:doomed');
    assert.deepEqual(item && [item.severity, item.count, item.source], ['P2', 2, 'runs']);
  });
});
