// Cost per task on SQLite and PostgreSQL, with the real pipeline, engine, billing meter hook, model
// service (scripted provider, priced) and native tools (priced). Tree 1 (agent A, project alpha): a
// model call and a tool call, a child run that fails (its spend is waste) and is started again and
// completes, and a whole-run retry (attempt 2) that replays its journal instead of paying again.
// Tree 2 (agent B): a model call made for a journal step by a "worker" that died before journaling
// it (a restart discards it), then the step made again by the run. Plus one call outside any run.
//   prices: scripted/m1 200 µ$ a call, scripted/m2 2000, search.web 300, code.run 1200
//   tree 1 = 200 + 300 + (2000 + 1200 failed child) + (2000 + 1200) + 200 = 7100, waste 3200
//   tree 2 = 200 (discarded) + 200 = 400, waste 200;  direct call 300;  total 7800
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { z } from 'zod';
import { Kernel, type Principal } from '../../kernel/index.ts';
import { ModelService, modelSyscalls, parseModelsConfig } from '../../models/index.ts';
import { createScriptedProvider } from '../../models/drivers/scripted/index.ts';
import { Billing, composeMeters } from '../../provisioning/index.ts';
import { onEveryStore, withCode, type StoreHandle } from '../../testkit/stores.ts';
import { defineTool, ToolsLayer, toolsSyscalls } from '../../tools/index.ts';
import { defineWorkflow } from '../define.ts';
import { Engine } from '../engine.ts';
import { Worker } from '../worker.ts';
import type { CostReport } from './cost-report.ts';
import { costSyscall } from './cost-syscall.ts';
import { toCsv } from './cost-csv.ts';

const masterKey = randomBytes(32);
const usage = { inputTokens: 100, outputTokens: 50 };
const generate = (model: string): unknown => ({ model, messages: [{ role: 'user', content: 'go' }] });
const failedOnce = new Set<string>();

const sub = defineWorkflow(
  { name: 'cost-test.sub', version: 1, input: z.object({ fail: z.boolean() }), output: z.string() },
  async (ctx, input) => {
    await ctx.syscall('model.generate', generate('scripted/m2'));
    await ctx.syscall('tools.call', { tool: 'code.run', arguments: {} });
    if (input.fail) throw new Error('tests failed');
    return 'patched';
  },
);

const task = defineWorkflow(
  {
    name: 'cost-test.task',
    version: 1,
    input: z.object({}),
    output: z.string(),
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
  },
  async (ctx) => {
    await ctx.syscall('model.generate', generate('scripted/m1'));
    await ctx.syscall('tools.call', { tool: 'search.web', arguments: {} });
    const first = await ctx.startChild(sub, { fail: true });
    const outcome = await first
      .result()
      .catch(async () => (await ctx.startChild(sub, { fail: false })).result());
    // Fails the run's first attempt after everything above was journaled: attempt 2 replays it.
    await ctx.step('flaky', () => {
      if (failedOnce.has(ctx.runId)) return 'ok';
      failedOnce.add(ctx.runId);
      throw new Error('flaky');
    });
    await ctx.syscall('model.generate', generate('scripted/m1'));
    return outcome;
  },
);

const solo = defineWorkflow(
  { name: 'cost-test.solo', version: 1, input: z.object({}), output: z.string() },
  async (ctx) => {
    await ctx.waitFor('go');
    await ctx.syscall('model.generate', generate('scripted/m1'));
    return 'done';
  },
);

/** A strict RFC 4180 reader, written apart from the writer so the test checks the format itself. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const re = /("(?:[^"]|"")*"|[^",\r\n]*)(,|\r\n)/gy;
  let row: string[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const raw = m[1] ?? '';
    row.push(raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw);
    if (m[2] === '\r\n') {
      rows.push(row);
      row = [];
    }
    if (re.lastIndex === text.length) break;
  }
  assert.equal(re.lastIndex, text.length, 'the whole text parses as CSV');
  return rows;
}

async function agentPrincipal(kernel: Kernel, tenantId: string, name: string): Promise<Principal> {
  const agent = await kernel.principals.createAgent({ tenantId, name });
  const { token } = await kernel.authority.issue({
    tenantId,
    subject: agent.id,
    grants: [{ syscall: '*', resource: '*' }],
    ttlSeconds: 3600,
  });
  return kernel.authenticate({ token });
}

async function open(db: StoreHandle) {
  const store = await db.open();
  const billing = await Billing.open({ store });
  const engine = await Engine.open({ store });
  const kernel = await Kernel.open({
    store,
    masterKey,
    meter: composeMeters(engine.meterHook, billing.meterHook),
  });
  engine.attachKernel(kernel);
  const tools = await ToolsLayer.open({ store, masterKey });
  tools.register(
    defineTool({
      name: 'search.web',
      description: 's',
      input: z.object({}),
      costMicros: 300,
      handler: () => 'r',
    }),
  );
  tools.register(
    defineTool({
      name: 'code.run',
      description: 'c',
      input: z.object({}),
      costMicros: 1200,
      handler: () => 'r',
    }),
  );
  for (const d of toolsSyscalls(tools)) kernel.register(d);
  const config = parseModelsConfig({
    providers: [{ name: 'scripted', driver: 'scripted', models: ['m1', 'm2'], retry: { attempts: 1 } }],
    prices: { 'scripted/m1': { input: 1, output: 2 }, 'scripted/m2': { input: 10, output: 20 } },
  });
  const provider = createScriptedProvider({ script: () => ({ text: 'ok', usage }) });
  for (const d of modelSyscalls(new ModelService({ config, providers: { scripted: provider } })))
    kernel.register(d);
  kernel.register(costSyscall(engine, { currency: billing.currency }));
  engine.register(sub);
  engine.register(task);
  engine.register(solo);
  return { store, billing, engine, kernel, tools };
}

onEveryStore('cost per task', (db) => {
  it('attributes every call and reports totals, waste and cost per completed task', async () => {
    const { store, billing, engine, kernel, tools } = await open(db());
    const worker = new Worker(engine, { pollMs: 20, leaseMs: 5_000 });
    try {
      const tenant = await kernel.principals.createTenant(`cost${randomBytes(3).toString('hex')}`);
      const a = await agentPrincipal(kernel, tenant.id, 'planner');
      const b = await agentPrincipal(kernel, tenant.id, 'coder');
      const { key } = await kernel.principals.createApiKey({
        tenantId: tenant.id,
        name: 'ops',
        grants: [{ syscall: '*', resource: '*' }],
      });
      const ops = await kernel.authenticate({ apiKey: key });
      await worker.start();
      const waitFor = async (id: string, status: string): Promise<void> => {
        const deadline = Date.now() + 30_000;
        while ((await engine.get(tenant.id, id)).status !== status) {
          assert.ok(Date.now() < deadline, `run ${id} did not reach ${status}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };

      const tree1 = await engine.start(task.name, {}, { principal: a, project: 'alpha' });
      await waitFor(tree1.id, 'completed');
      assert.equal((await engine.get(tenant.id, tree1.id)).attempt, 2);

      const tree2 = await engine.start(solo.name, {}, { principal: b });
      await waitFor(tree2.id, 'waiting');
      // A worker made the call for step 2 and died before journaling it: the run makes it again.
      await kernel.call('model.generate', generate('scripted/m1'), {
        principal: b,
        runId: tree2.id,
        idempotencyKey: `${tree2.id}:2`, // seq 1 is the wait
        attribution: { rootId: tree2.id, attempt: 1 },
      });
      await engine.signal(tenant.id, tree2.id, 'go', {});
      await waitFor(tree2.id, 'completed');
      await kernel.call('tools.call', { tool: 'search.web', arguments: {} }, { principal: ops });
      // A row from before attribution existed (nulls) still counts.
      await billing.meters.ingest(tenant.id, [
        {
          id: 'old-1',
          type: 'syscall.cost',
          subject: 'tenant',
          resourceId: 'x',
          quantity: '0',
          unit: 'USD',
          time: Date.now(),
        },
      ]);

      const cost = (input: unknown): Promise<CostReport> =>
        kernel.call<CostReport>('billing.cost', input, { principal: ops });
      const byTree = await cost({ groupBy: 'tree' });
      const t1 = byTree.groups.find((g) => g.key === tree1.id);
      const t2 = byTree.groups.find((g) => g.key === tree2.id);
      assert.deepEqual(
        [t1?.totalMicros, t1?.wasteMicros, t1?.workflow, t1?.status, t1?.calls],
        [7100, 3200, task.name, 'completed', 7],
      );
      assert.deepEqual([t2?.totalMicros, t2?.wasteMicros, t2?.calls], [400, 200, 2]);
      assert.equal(byTree.totals.totalMicros, 7800);
      assert.equal(byTree.totals.wasteMicros, 3400);
      assert.equal(byTree.totals.committed, '0.0044');
      assert.equal(byTree.totals.calls, 11); // 7 + 2 + direct + the old row
      // The tree total equals the sum of its runs' own cost counters (orch_runs.cost_micros).
      const runs = await store.all<{ c: number | string }>(
        'SELECT cost_micros AS c FROM orch_runs WHERE root_id = ?',
        [tree1.id],
      );
      assert.equal(
        runs.reduce((s, r) => s + Number(r.c), 0),
        7100,
      );
      assert.deepEqual(
        byTree.waste.map((w) => [w.reason, w.amount, w.calls]),
        [
          ['failed_run', '0.0032', 2],
          ['discarded_step', '0.0002', 1],
        ],
      );
      assert.deepEqual(byTree.tasks, { completed: 2, cost: '0.0075', costPerCompletedTask: '0.00375' });

      const rows = (r: CostReport) =>
        Object.fromEntries(r.groups.map((g) => [g.key, [g.totalMicros, g.wasteMicros]]));
      assert.deepEqual(rows(await cost({ groupBy: 'agent' })), {
        [a.id]: [7100, 3200],
        [b.id]: [400, 200],
        '-': [300, 0],
      });
      assert.deepEqual(rows(await cost({ groupBy: 'model' })), {
        'scripted/m1': [800, 200],
        'scripted/m2': [4000, 2000],
        '-': [3000, 1200],
      });
      assert.deepEqual(rows(await cost({ groupBy: 'tool' })), {
        'search.web': [600, 0],
        'code.run': [2400, 1200],
        '-': [4800, 2200],
      });
      assert.deepEqual(rows(await cost({ groupBy: 'project' })), { alpha: [7100, 3200], '-': [700, 200] });
      assert.deepEqual(rows(await cost({ groupBy: 'tenant' })), { [tenant.id]: [7800, 3400] });
      const one = await cost({ groupBy: 'run', root: tree1.id });
      assert.equal(one.groups.length, 3); // the root and its two children
      assert.equal(one.totals.totalMicros, 7100);
      const top = await cost({ groupBy: 'model', limit: 1 });
      assert.deepEqual([top.groups.map((g) => g.key), top.omitted], [['scripted/m2'], 2]);
      assert.equal((await cost({ since: Date.now() + 60_000 })).totals.calls, 0);

      // Every attributed row carries its dimensions; the replayed attempt paid once, at attempt 2.
      const stored = await store.all<Record<string, unknown>>(
        `SELECT run_id, step_seq, attempt, model, tool, price_version, project, agent_id FROM bill_meter_events
          WHERE tenant_id = ? AND root_id = ? ORDER BY time, id`,
        [tenant.id, tree1.id],
      );
      assert.equal(stored.length, 7);
      assert.deepEqual(
        stored.map((r) => Number(r['attempt'])),
        [1, 1, 1, 1, 1, 1, 2],
      );
      assert.ok(stored.every((r) => r['project'] === 'alpha' && r['agent_id'] === a.id));
      const first = stored.find((r) => r['model'] === 'scripted/m1' && Number(r['step_seq']) === 1);
      assert.match(String(first?.['price_version']), /^models:[0-9a-f]{12}$/);
      assert.ok(stored.some((r) => r['tool'] === 'search.web' && Number(r['step_seq']) === 2));
      assert.ok(stored.filter((r) => r['tool'] !== null).every((r) => r['price_version'] === null));

      // CSV: one header and one line per group, parsed back to the same figures.
      const csv = parseCsv(toCsv(byTree));
      assert.deepEqual(csv[0]?.slice(0, 4), ['key', 'workflow', 'status', 'total']);
      assert.equal(csv.length, 1 + byTree.groups.length);
      assert.deepEqual(csv.find((r) => r[0] === tree1.id)?.slice(3, 6), ['0.0071', '0.0039', '0.0032']);

      // Bad input: stable codes, nothing stored.
      const before = await store.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM bill_meter_events');
      await assert.rejects(cost({ groupBy: 'bogus' }), withCode('E_INVALID_INPUT'));
      await assert.rejects(cost({ limit: -1 }), withCode('E_INVALID_INPUT'));
      await assert.rejects(cost({ since: 10, until: 5 }), withCode('E_INVALID_INPUT'));
      await assert.rejects(cost({ tenant: 'ten_other' }), withCode('E_NOT_FOUND'));
      await assert.rejects(
        engine.start(task.name, {}, { principal: a, project: 'bad project!' }),
        withCode('E_INVALID_INPUT'),
      );
      const after = await store.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM bill_meter_events');
      assert.equal(Number(after?.n), Number(before?.n));
    } finally {
      await worker.stop();
      await tools.close();
      await billing.close();
      await kernel.close();
    }
  });
});
