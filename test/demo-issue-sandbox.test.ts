/**
 * The demo worker's sandbox work (examples/demo/issue-sandbox.ts) in durable runs on a real
 * runtime, with bubblewrap and git: a fix's own tests pass in a clone of the shop, and making the
 * step again in the same sandbox is safe; a fix whose own test fails is reported failing (the
 * worker does not submit it); a fix that breaks the shop's checkout passes the worker's tests but
 * not the whole suite (which is why the merge queue, running the whole suite, names it); and a run
 * resumed by a restarted runtime, its sandbox gone with the old process, does not reproduce again
 * and runs its tests in a new sandbox.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { FaultPlan } from '../examples/demo/faults.ts';
import { IssueSandbox, reproduce, testPatch, type WorkerTests } from '../examples/demo/issue-sandbox.ts';
import { seedIssues } from '../examples/demo/issues.ts';
import { createShopRepo, patchKinds, readShopBundle, SPRINT_BASE } from '../examples/demo/shop-repo.ts';
import { configSchema, type Principal } from '../src/kernel/index.ts';
import { defineWorkflow, waitForRun } from '../src/orchestration/index.ts';
import { bootstrapDefaultTenant, openRuntime, type Runtime } from '../src/server/runtime.ts';

const SEED = 3;
const ISSUES = seedIssues(SEED, 8);
// Seed 3: index 0 breaks the checkout, 2 to 4 are clean or change settings.js (their tests pass).
const KINDS = patchKinds(SEED, ISSUES.length);
const plan = new FaultPlan(SEED, ISSUES.length);

const input = z.object({
  index: z.number(),
  patch: z.string(),
  dataDir: z.string(),
  twice: z.boolean().default(false),
  pause: z.boolean().default(false),
});
const work = defineWorkflow(
  { name: 'test.issue_sandbox', version: 1, input, output: z.unknown() },
  async (ctx, job) => {
    const issue = ISSUES[job.index];
    if (!issue) throw new Error(`no issue ${job.index}`);
    const box = new IssueSandbox(ctx);
    const repro = await reproduce(box, plan, job.index, issue);
    if (job.pause) await ctx.waitFor('go'); // the run holds no process here: the runtime restarts
    const fix = { patch: job.patch, dataDir: job.dataDir };
    const tests = [await testPatch(box, fix)];
    if (job.twice) tests.push(await testPatch(box, fix)); // the same step made again
    await box.destroy();
    return { diff: repro.diff, tests, lost: box.lost };
  },
);
interface Output {
  diff: number;
  tests: WorkerTests[];
  lost: number;
}

void describe('the demo worker tests its fix in its sandbox', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-demo-sandbox-'));
  const config = configSchema.parse({ dataDir });
  let runtime: Runtime;
  let principal: Principal;
  let tenantId: string;
  const open = async (): Promise<Runtime> => {
    const opened = await openRuntime({ config, worker: true });
    opened.engine.register(work);
    return opened;
  };
  const call = <T>(name: string, body: unknown) => runtime.kernel.call<T>(name, body, { principal });
  const patchOf = (index: number) =>
    readFileSync(join(dataDir, 'fixes', `issue-${ISSUES[index]?.number}.patch`), 'utf8');
  const run = async (body: z.input<typeof input>): Promise<Output> => {
    const started = await runtime.engine.start('test.issue_sandbox', body, { principal });
    const done = await waitForRun(runtime.engine, tenantId, started.id, { timeoutMs: 60_000 });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    return done.output as Output;
  };
  /** The commands the tenant's sandboxes ran (the audit keeps each exec's command). */
  const commands = async (): Promise<string[]> => {
    await runtime.kernel.audit.flush();
    const entries = await runtime.kernel.audit.list(tenantId, { action: 'sandbox.exec', limit: 1000 });
    return entries.map((e) => String((e.detail as { input?: { command?: unknown } }).input?.command));
  };

  before(async () => {
    createShopRepo(dataDir, ISSUES, KINDS);
    runtime = await open();
    const boot = await bootstrapDefaultTenant(runtime);
    tenantId = boot.tenantId;
    principal = await runtime.kernel.authenticate({ apiKey: boot.adminKey });
  });
  after(async () => {
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("passes a fix's own tests in a clone of the shop, and again in the same sandbox", async () => {
    assert.notEqual(KINDS[2], 'breaks_tests');
    const out = await run({ index: 2, patch: patchOf(2), dataDir, twice: true });
    const issue = ISSUES[2]?.number;
    assert.equal(out.diff, 1, 'the overcharge reproduced');
    for (const tests of out.tests)
      assert.deepEqual(tests, {
        passed: true,
        files: [`test/issue-${issue}.test.js`],
        pass: 1,
        fail: 0,
        tail: null,
      });
    assert.equal(out.lost, 0);
  });

  it('reports a fix whose own test fails: not passed, with the failing count and output', async () => {
    const wrong = ISSUES[3]?.charged ?? 0; // the test expects what the shop charged: the bug itself
    const patch = patchOf(3).replace(/assert\.equal\((corrected\d+), \d+\)/, `assert.equal($1, ${wrong})`);
    assert.notEqual(patch, patchOf(3));
    const [tests] = (await run({ index: 3, patch, dataDir })).tests;
    assert.equal(tests?.passed, false);
    assert.deepEqual([tests?.pass, tests?.fail], [0, 1]);
    assert.match(tests?.tail ?? '', /not ok 1 - issue \d+: charged one cent less/);
  });

  it("passes a checkout-breaking fix's own tests; the whole suite with it fails", async () => {
    assert.equal(KINDS[0], 'breaks_tests');
    const [tests] = (await run({ index: 0, patch: patchOf(0), dataDir })).tests;
    assert.equal(tests?.passed, true, 'the worker cannot see it: its own test passes');
    // What the queue runs: the whole suite (test/all.js) on the tree with the change.
    const box = await call<{ id: string }>('sandbox.create', { runtimes: ['node'] });
    await call('sandbox.files.write', {
      sandbox: box.id,
      path: 'shop.bundle',
      content: readShopBundle(dataDir),
      encoding: 'base64',
    });
    const whole = await call<{ exitCode: number; stdout: string }>('sandbox.exec', {
      sandbox: box.id,
      command: `git -c advice.detachedHead=false clone -q -b ${SPRINT_BASE} shop.bundle shop && cd shop && git apply && node test/all.js`,
      stdin: patchOf(0),
    });
    await call('sandbox.destroy', { sandbox: box.id });
    assert.notEqual(whole.exitCode, 0);
    assert.match(whole.stdout, /✖ checkout: an order totals its lines with every fix loaded/);
  });

  it('resumes after a restart without reproducing again; the tests run in a new sandbox', async () => {
    const issue = ISSUES[4];
    assert.ok(issue && !plan.sandboxHangs(4));
    const reproduction = (c: string) => c.includes('python3') && c.includes(`${issue.charged} - total`);
    const started = await runtime.engine.start(
      'test.issue_sandbox',
      { index: 4, patch: patchOf(4), dataDir, pause: true },
      { principal },
    );
    for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 25))) {
      if ((await runtime.engine.get(tenantId, started.id)).status === 'waiting') break;
      assert.ok(Date.now() < deadline, 'the run waits for its signal');
    }
    assert.equal((await commands()).filter(reproduction).length, 1);
    await runtime.close(); // its sandbox goes with this process
    runtime = await open();
    await call('runs.signal', { runId: started.id, name: 'go' });
    const done = await waitForRun(runtime.engine, tenantId, started.id, { timeoutMs: 60_000 });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const out = done.output as Output;
    assert.equal(out.lost, 1, 'the sandbox was found gone and made again');
    assert.equal(out.tests[0]?.passed, true);
    assert.equal((await commands()).filter(reproduction).length, 1, 'the reproduction was not made again');
  });
});
