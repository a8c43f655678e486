// Chaos in the real syscall pipeline on both engines: an injected fault is marked in the call's
// audit entry and span and counted in strata_chaos_faults_total; the pipeline's retries recover an
// injected error; a named fault reaches the handler's driver through takeChaosFault; chaos.set is
// for operators' API keys only (audited) and chaos.status reports what was injected; off, nothing is.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import type { Principal } from '../auth/principal.ts';
import { systemClock } from '../clock.ts';
import { Kernel } from '../kernel.ts';
import { defineSyscall } from '../syscalls/define.ts';
import { chaosSchema } from './config.ts';
import { ChaosInjector, type ChaosStatus } from './injector.ts';
import { takeChaosFault } from './scope.ts';

onEveryStore('chaos in the syscall pipeline', (db) => {
  let kernel: Kernel;
  let admin: Principal;
  let executions = 0;
  const spans = new InMemorySpanExporter();
  const chaos = new ChaosInjector({ config: chaosSchema.parse({}), mode: 'development', clock: systemClock });

  before(async () => {
    kernel = await Kernel.open({
      store: await db().open(),
      masterKey: randomBytes(32),
      chaos,
      tracer: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).getTracer('t'),
    });
    kernel.register(
      defineSyscall({
        name: 'sandbox.probe',
        description: 'counts executions; reports whether its driver was told to OOM-kill',
        input: z.object({}),
        output: z.object({ oom: z.boolean() }),
        idempotency: 'idempotent',
        retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 2 },
        handler: () => {
          executions++;
          return { oom: takeChaosFault('compute', 'oom_kill') };
        },
      }),
    );
    kernel.register(
      defineSyscall({
        name: 'sandbox.nested',
        description: 'calls sandbox.probe: a syscall made by a handler',
        input: z.object({}),
        output: z.object({ oom: z.boolean() }),
        idempotency: 'pure',
        handler: (_input, ctx) =>
          kernel.call<{ oom: boolean }>('sandbox.probe', {}, { principal: ctx.principal }),
      }),
    );
    const tenant = await kernel.principals.createTenant('chaos');
    const { key } = await kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'admin',
      grants: [{ syscall: '*', resource: '*' }],
    });
    admin = await kernel.authenticate({ apiKey: key });
  });
  after(() => kernel.close());

  const lastEntry = async (action: string): Promise<{ detail: unknown; outcome: string }> => {
    const entries = (await kernel.audit.list(admin.tenantId, { limit: 1000 })).filter(
      (e) => e.action === action,
    );
    const last = entries.at(-1);
    assert.ok(last, `an audit entry for ${action}`);
    return last;
  };

  it('injects nothing while chaos is off', async () => {
    for (let i = 0; i < 20; i++) await kernel.call('sandbox.probe', {}, { principal: admin });
    assert.equal(executions, 20);
    const entries = await kernel.audit.list(admin.tenantId, { limit: 1000 });
    assert.ok(entries.every((e) => !JSON.stringify(e.detail).includes('"faults"')));
    assert.equal((await kernel.call<ChaosStatus>('chaos.status', {}, { principal: admin })).total, 0);
  });

  it('chaos.set is refused to an agent, allowed to an operator’s API key, and audited', async () => {
    const agent: Principal = { ...admin, id: 'agt_x', kind: 'agent' };
    await assert.rejects(
      kernel.call('chaos.set', { enabled: true }, { principal: agent }),
      withCode('E_CAPABILITY_DENIED'),
    );
    const status = await kernel.call<ChaosStatus>(
      'chaos.set',
      { enabled: true, seed: 42, rules: [{ layer: 'compute', errorRate: 0.5 }] },
      { principal: admin },
    );
    assert.equal(status.enabled, true);
    assert.equal(chaos.enabled, true);
    const entry = await lastEntry('chaos.set');
    assert.equal(entry.outcome, 'ok');
  });

  it('marks injected faults in the audit entry and span, counts them, and retries recover', async () => {
    spans.reset();
    executions = 0;
    for (let i = 0; i < 20; i++) await kernel.call('sandbox.probe', {}, { principal: admin });
    assert.equal(executions, 20, 'each call succeeded after its injected failures were retried');
    const status = await kernel.call<ChaosStatus>('chaos.status', {}, { principal: admin });
    const injected = status.faults.find((f) => f.layer === 'compute' && f.kind === 'error')?.count ?? 0;
    assert.ok(injected > 3, `about half of the first attempts fail (${injected})`);
    const entries = (await kernel.audit.list(admin.tenantId, { limit: 1000 })).filter(
      (e) => e.action === 'sandbox.probe' && JSON.stringify(e.detail).includes('"faults"'),
    );
    const marks = entries.flatMap((e) => (e.detail as { faults: { kind: string; rule: string }[] }).faults);
    assert.equal(marks.length, injected);
    assert.ok(marks.every((m) => m.kind === 'error' && m.rule === 'rules[0]'));
    const faultedSpans = spans.getFinishedSpans().filter((s) => s.attributes['strata.chaos.faults']);
    assert.equal(faultedSpans.length, entries.length);
    const metric = await kernel.metrics.registry.getSingleMetricAsString('strata_chaos_faults_total');
    assert.match(
      metric,
      new RegExp(`strata_chaos_faults_total\\{layer="compute",kind="error"\\} ${injected}\\b`),
    );
  });

  it('a named fault reaches the driver of the faulted call, and is marked realised', async () => {
    await kernel.call(
      'chaos.set',
      { rules: [{ syscall: 'sandbox.probe', errorRate: 1, fault: 'oom_kill' }] },
      { principal: admin },
    );
    const out = await kernel.call<{ oom: boolean }>('sandbox.probe', {}, { principal: admin });
    assert.equal(out.oom, true);
    const entry = await lastEntry('sandbox.probe');
    assert.deepEqual((entry.detail as { faults: unknown }).faults, [
      { kind: 'oom_kill', layer: 'compute', rule: 'rules[0]', attempt: 1, realised: true },
    ]);
  });

  it('a fault planned for a call is never taken by a syscall its handler makes', async () => {
    await kernel.call(
      'chaos.set',
      { rules: [{ syscall: 'sandbox.nested', errorRate: 1, fault: 'oom_kill' }] },
      { principal: admin },
    );
    const out = await kernel.call<{ oom: boolean }>('sandbox.nested', {}, { principal: admin });
    assert.equal(out.oom, false, 'sandbox.probe ran in a scope of its own');
    const entry = await lastEntry('sandbox.nested');
    assert.deepEqual(
      (entry.detail as { faults: { realised: boolean }[] }).faults.map((f) => f.realised),
      [false],
    );
  });

  it('an outage fails every call of its layer and is audited as an error with data.injected', async () => {
    await kernel.call(
      'chaos.set',
      { rules: [], outages: [{ layer: 'compute', startAfterMs: 0, durationMs: 60_000 }] },
      { principal: admin },
    );
    await assert.rejects(kernel.call('sandbox.probe', {}, { principal: admin }), (e: unknown) => {
      assert.ok(withCode('E_UNAVAILABLE')(e));
      assert.equal((e as { data: { injected: boolean } }).data.injected, true);
      return true;
    });
    const entry = await lastEntry('sandbox.probe');
    assert.equal(entry.outcome, 'error');
    assert.equal(
      (entry.detail as { faults: unknown[] }).faults.length,
      5,
      'all five attempts hit the outage',
    );
    await kernel.call('kernel.echo', { message: 'up' }, { principal: admin }); // other layers answer
    const off = await kernel.call<ChaosStatus>('chaos.set', { enabled: false }, { principal: admin });
    assert.equal(off.enabled, false);
    await kernel.call('sandbox.probe', {}, { principal: admin });
  });
});
