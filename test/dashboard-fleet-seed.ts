/**
 * Seeds a dashboard test env (src/web/testing.ts) for the Fleet, Tree, Merge queue and Costs views,
 * through real syscalls and workflows: a supervisor whose children are a waiting agent, one
 * restarted once after a failure, and a temporary one left failed with its error code; a completed
 * run that calls a priced scripted model and a priced tool (metered to its run tree; the model call
 * is also held against a tenant budget at its estimate, the tool call is not: it has no estimate);
 * and a merge queue over a real git repository with a merged change, a rejected culprit and,
 * finally, a stop (main rewritten outside the queue) that waits for `mq.resume`.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { z } from 'zod';
import { StrataError } from '../src/kernel/index.ts';
import { defineSupervisor, defineWorkflow, type WorkflowDefinition } from '../src/orchestration/index.ts';
import { defineTool } from '../src/tools/index.ts';
import {
  openDashboardEnv,
  quickWorkflow,
  sleepyWorkflow,
  type DashboardTestEnv,
} from '../src/web/testing.ts';
import { createFixture, git, type Fixture } from './mergequeue-fixture.ts';

/** Tags that failed once since the last seed (each seed's first `flaky` run fails). */
const failedOnce = new Set<string>();
/** Fails with E_CONFLICT the first time a run of this tag starts, then waits an hour. */
const flakyAgent = defineWorkflow(
  { name: 'dash.flaky', version: 1, input: z.object({ tag: z.string() }), output: z.unknown() },
  async (ctx, input) => {
    const first = await ctx.step('first', () => !failedOnce.has(input.tag));
    if (first) {
      failedOnce.add(input.tag);
      throw new StrataError('E_CONFLICT', `${input.tag} failed on purpose`);
    }
    await ctx.sleep(3_600_000);
    return {};
  },
);

export const TEAM = defineSupervisor({
  name: 'dash.team',
  version: 1,
  strategy: 'one_for_one',
  intensity: 10,
  backoff: { baseMs: 0, maxMs: 0 },
  children: [
    { id: 'steady', workflow: sleepyWorkflow, input: {} },
    { id: 'flaky', workflow: flakyAgent, input: { tag: 'flaky' } },
    { id: 'oneshot', workflow: quickWorkflow, input: { fail: 'oneshot' }, restart: 'temporary' },
  ],
});

export const PRICED_TOOL = 'dash.lookup';
/** A scripted model priced per token: its calls are held against budgets at their estimate. */
const MODELS = {
  providers: [{ name: 'scripted', driver: 'scripted', models: ['m1'], script: [{ text: 'plan ready' }] }],
  prices: { 'scripted/m1': { input: 100, output: 200 } },
};
/** A model call and two calls of the priced tool, then completes: a task with a cost. */
const spender = defineWorkflow(
  { name: 'dash.spend', version: 1, input: z.object({}), output: z.unknown() },
  async (ctx) => {
    await ctx.syscall('model.generate', {
      model: 'scripted/m1',
      messages: [{ role: 'user', content: 'plan the sprint' }],
    });
    await ctx.syscall('tools.call', { tool: PRICED_TOOL, arguments: {} });
    await ctx.syscall('tools.call', { tool: PRICED_TOOL, arguments: {} });
    return {};
  },
);

export const FLEET_WORKFLOWS = [TEAM, flakyAgent, spender] as unknown as WorkflowDefinition[];

export interface FleetSeed {
  readonly env: DashboardTestEnv;
  readonly team: string;
  readonly spend: string;
  /** Ids of the merge queue's merged and rejected entries. */
  readonly merged: string;
  readonly rejected: string;
  /** Moves main back to where the queue left it (what an operator does before resuming it). */
  restoreMain(): void;
  close(): Promise<void>;
}

interface Tree {
  status: string;
  childId?: string;
  incarnation?: number;
  error?: { code: string };
  children: Tree[];
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const caller = async (env: DashboardTestEnv) => {
  const principal = await env.runtime.kernel.authenticate({ apiKey: env.adminKey });
  return <T>(name: string, input: unknown): Promise<T> =>
    env.runtime.kernel.call<T>(name, input, { principal });
};

/** The supervisor and the paid task, once the team has settled (a restart, a failure). */
async function seedRuns(env: DashboardTestEnv): Promise<{ team: string; spend: string }> {
  env.runtime.tools.register(
    defineTool({
      name: PRICED_TOOL,
      description: 'a priced lookup',
      input: z.object({}),
      costMicros: 2500,
      handler: () => 'found',
    }),
  );
  const call = await caller(env);
  await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: '1.00' });
  const team = await env.start('dash.team', { children: [] });
  const spend = await env.start('dash.spend', {});
  await env.waitForStatus(spend, 'completed');
  await until('the team to settle', async () => {
    const { trees } = await call<{ trees: Tree[] }>('fleet.tree', { runId: team });
    const kids = new Map(trees[0]?.children.map((c) => [c.childId, c]));
    return (
      kids.get('flaky')?.incarnation === 2 &&
      kids.get('flaky')?.status === 'waiting' &&
      kids.get('oneshot')?.error?.code === 'E_CONFLICT' &&
      kids.get('steady')?.status === 'waiting'
    );
  });
  return { team, spend };
}

/** The queue `app`: one change merged, one rejected by its check, then stopped (main rewritten). */
async function seedQueue(env: DashboardTestEnv, fx: Fixture) {
  const call = await caller(env);
  fx.branch('feat-ok', { 'ok.txt': 'fine\n' });
  fx.branch('feat-broken', { BROKEN: 'yes\n' });
  fx.branch('feat-late', { 'late.txt': 'late\n' });
  // The runtime serves repositories under <dataDir>/repos only.
  const bare = join(env.runtime.config.dataDir, 'repos', 'app.git');
  execFileSync('git', ['clone', '-q', '--mirror', fx.bare, bare]);
  await call('mq.configure', {
    queue: 'app',
    repository: bare,
    target: 'main',
    check: { command: 'sh check.sh', timeoutMs: 20_000, runtimes: ['sh'] },
    batch: { min: 1, max: 1 },
  });
  const ok = await call<{ id: string }>('mq.submit', { queue: 'app', branch: 'feat-ok', author: 'agent-ok' });
  const broken = await call<{ id: string }>('mq.submit', {
    queue: 'app',
    branch: 'feat-broken',
    author: 'agent-broken',
  });
  const queues = env.runtime.mergeQueues;
  await queues.idle(env.tenantId, 'app');
  // Main moved outside the queue: the next change stops it until a person resumes it.
  const main = git(bare, 'rev-parse', 'main');
  git(bare, 'update-ref', 'refs/heads/main', git(bare, 'commit-tree', `${main}^{tree}`, '-m', 'rewritten'));
  await call('mq.submit', { queue: 'app', branch: 'feat-late', author: 'agent-late' });
  await queues.idle(env.tenantId, 'app').catch(() => undefined); // E_NOT_FAST_FORWARD: stopped
  return {
    merged: ok.id,
    rejected: broken.id,
    restoreMain: () => void git(bare, 'update-ref', 'refs/heads/main', main),
  };
}

export async function seedFleet(options: { dialect?: 'sqlite' | 'postgres' } = {}): Promise<FleetSeed> {
  failedOnce.clear();
  const env = await openDashboardEnv({
    workflows: FLEET_WORKFLOWS,
    config: { models: MODELS },
    ...(options.dialect ? { dialect: options.dialect } : {}),
  });
  const fx = createFixture({ 'check.sh': 'test ! -f BROKEN && echo all good\n' });
  const close = async (): Promise<void> => {
    await env.close();
    fx.cleanup();
  };
  try {
    return { env, close, ...(await seedRuns(env)), ...(await seedQueue(env, fx)) };
  } catch (error) {
    await close(); // a failed seed must not leave a server open: the test process would not end
    throw error;
  }
}
