// Fallback as a recovery mechanism in the reliability report, for a run's streamed model calls (the
// run stream attached, as the server attaches it): route `main` is [a/m, b/m]. While chaos holds
// provider `a` in an outage, a run's call is answered by b (recovered by fallback) and a run calling
// a/m itself fails (unrecovered, linked to the outage); an injected HTTP 500 on a call straight to
// a/m is answered by a again (recovered by retry). SQLite.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { z } from 'zod';
import { chaosSchema, ChaosInjector } from '../../kernel/chaos/index.ts';
import { Kernel, systemClock } from '../../kernel/index.ts';
import { createScriptedProvider } from '../../models/drivers/scripted/index.ts';
import { ModelService, modelSyscalls, parseModelsConfig } from '../../models/index.ts';
import { principalInNewTenant } from '../../testkit/principals.ts';
import { freshDatabase } from '../../testkit/stores.ts';
import { defineWorkflow } from '../define.ts';
import { Engine } from '../engine.ts';
import { RunStreams } from '../streaming/run-streams.ts';
import { fleetSyscalls } from '../supervision/syscalls.ts';
import { Worker } from '../worker.ts';
import type { ReliabilityReport } from './schema.ts';

const ask = defineWorkflow(
  { name: 'fallback-test.ask', version: 1, input: z.object({ model: z.string() }), output: z.string() },
  async (ctx, input) => {
    const messages = [{ role: 'user', content: 'which provider answers?' }];
    return (await ctx.syscall<{ target: string }>('model.generate', { model: input.model, messages })).target;
  },
);

it('a route falling back to its next target is recovered by fallback; a re-attempt by retry', async (t) => {
  const db = await freshDatabase('sqlite');
  const chaos = new ChaosInjector({ config: chaosSchema.parse({}), mode: 'development', clock: systemClock });
  const store = await db.open();
  const engine = await Engine.open({ store });
  const kernel = await Kernel.open({ store, masterKey: randomBytes(32), meter: engine.meterHook, chaos });
  engine.attachKernel(kernel);
  const streams = await RunStreams.open({ store });
  const config = parseModelsConfig({
    providers: [
      { name: 'a', driver: 'scripted', models: ['m'], retry: { attempts: 2, baseDelayMs: 1 } },
      { name: 'b', driver: 'scripted', models: ['m'], retry: { attempts: 2, baseDelayMs: 1 } },
    ],
    routes: { main: ['a/m', 'b/m'] },
  });
  const answer = (name: string) =>
    createScriptedProvider({ name, script: () => ({ text: `${name} answers`, usage: { inputTokens: 1 } }) });
  const models = new ModelService({ config, providers: { a: answer('a'), b: answer('b') } });
  for (const def of modelSyscalls(models, { deltas: streams })) kernel.register(def);
  for (const def of fleetSyscalls(engine)) kernel.register(def);
  engine.register(ask);
  const principal = await principalInNewTenant(kernel, 'fallback', [{ syscall: '*', resource: '*' }]);
  const worker = new Worker(engine, { pollMs: 10, leaseMs: 2_000 });
  await worker.start();
  t.after(async () => {
    await worker.stop();
    await kernel.close();
    await db.drop();
  });
  const as = { principal };
  const ended = async (model: string) => {
    const run = await engine.start(ask.name, { model }, as);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const got = await engine.get(principal.tenantId, run.id);
      if (got.status === 'completed' || got.status === 'failed') return { ...got, id: run.id };
      assert.ok(Date.now() < deadline, `run ${got.status}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const answered = async (model: string): Promise<{ id: string; output: unknown }> => {
    const run = await ended(model);
    assert.equal(run.status, 'completed', JSON.stringify(run.error));
    return { id: run.id, output: run.output };
  };

  const outage = { provider: 'a', startAfterMs: 0, durationMs: 60_000 };
  await kernel.call('chaos.set', { enabled: true, outages: [outage] }, as);
  const fellBack = await answered('main');
  assert.equal(fellBack.output, 'b/m', 'a is down: b answered');
  const streamed = await streams.list(fellBack.id, undefined, 100);
  assert.deepEqual(
    streamed.map((e) => [e.type, e.text]),
    [
      ['delta', 'b '],
      ['delta', 'answers'],
    ],
    'the call streamed',
  );
  const failed = await ended('a/m');
  assert.equal(failed.status, 'failed', 'no fallback for a call to a itself');
  assert.match(JSON.stringify(failed.error), /a could not be reached \(injected outage\)/);

  await kernel.call(
    'chaos.set',
    { outages: [], rules: [{ syscall: 'model.generate', errorRate: 1, fault: 'http_500' }] },
    as,
  );
  assert.equal((await answered('a/m')).output, 'a/m', 'a failed once, then answered');
  await kernel.call('chaos.set', { enabled: false }, as);

  const report = await kernel.call<ReliabilityReport>('fleet.reliability', {}, as);
  const layer = report.layers.find((l) => l.layer === 'models');
  assert.deepEqual(layer?.faultsByKind, { outage: 2, http_500: 1 });
  assert.deepEqual(
    { ...layer?.recovered, unrecovered: layer?.unrecovered, unattributed: layer?.unattributed },
    { retry: 1, fallback: 1, restart: 0, takeover: 0, human: 0, unrecovered: 1, unattributed: 0 },
  );
  assert.deepEqual(report.mechanisms, { retry: 1, fallback: 1, restart: 0, takeover: 0, human: 0 });
});
