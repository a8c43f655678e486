import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { Kernel, openStore } from './src/kernel/index.ts';
import { defineWorkflow, Engine, waitForRun, Worker } from './src/orchestration/index.ts';

const store = await openStore('sqlite::memory:'); // or postgres://… shared by workers on many machines
const engine = await Engine.open({ store });
const kernel = await Kernel.open({ store, masterKey: randomBytes(32), meter: engine.meterHook });
engine.attachKernel(kernel); // a run's ctx.syscall(…) is checked against its starter's grants
const { id: tenantId } = await kernel.principals.createTenant('demo');
const { key } = await kernel.principals.createApiKey({ tenantId, name: 'demo', grants: [] });
const principal = await kernel.authenticate({ apiKey: key });
engine.register(
  defineWorkflow({ name: 'order', version: 1, input: z.string(), output: z.string() }, async (ctx, item) => {
    const reserved = await ctx.step('reserve', () => `${item} reserved`); // journaled; replay reuses it
    await ctx.sleep(100); // a durable timer: the run holds no worker meanwhile
    const { by } = await ctx.waitFor<{ by: string }>('approve'); // a durable wait for a signal
    return ctx.step('ship', () => `${reserved}, approved by ${by}, shipped`);
  }),
);
const worker = new Worker(engine, { pollMs: 50 });
await worker.start();
const run = await engine.start('order', 'a book', { principal });
await engine.signal(tenantId, run.id, 'approve', { by: 'ada' });
console.log((await waitForRun(engine, tenantId, run.id)).output);
for (const e of await engine.journal(tenantId, run.id)) console.log(e.seq, e.kind, e.name, e.status);
await worker.stop();
await kernel.close();
