/**
 * What the demo's shop has before the sprint, made through syscalls as an operator would: the
 * tracker (an MCP server over stdio whose API token is kept in the vault), the tenant's budget,
 * the team's memory, the lead's and each worker's mailbox, one task per seeded issue on the
 * fleet's task board, the squads' reviewers (agents with their own keys, answering over A2A) and
 * the key workers call them with (in the vault), and the lead's assignment mail to each worker.
 * Returns each worker's workflow input.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { openRuntime } from '../../src/server/index.ts';
import { TEAM_SCOPE } from './fix-issue.ts';
import { seedIssues, TEAM_FACTS } from './issues.ts';
import { REVIEW_CREDENTIAL } from './review.ts';
import { createShopRepo, patchKinds } from './shop-repo.ts';
import { fleetLayout, squadOf, workerMailbox, workerName } from './squads.ts';
import { SHOP_QUEUE } from './submit-patch.ts';
import { AGENT_BUDGET, ASSIGNMENT_SUBJECT, assignmentText } from './worker-agent.ts';
import type { FaultPlan } from './faults.ts';

type Call = <T>(name: string, input: unknown) => Promise<T>;
type Runtime = Awaited<ReturnType<typeof openRuntime>>;

export const LEAD = 'lead@shop.test';
/** Assignment mails sent at once. */
const ASSIGN_AT_ONCE = 10;

export interface WorkerInput {
  worker: number;
  squad: number;
  mailbox: string;
  lead: string;
  reviewerUrl: string;
  staging: string;
  dataDir: string;
}

export interface ShopOptions {
  seed: number;
  agents: number;
  dataDir: string;
  staging: string;
  /** The demo's server, where the reviewers answer A2A. */
  server: string;
  tenantId: string;
  plan: FaultPlan;
}

/** The tracker MCP server, its token in the vault, and its board in a SQLite file in `dataDir`. */
async function addTracker(call: Call, options: ShopOptions): Promise<void> {
  const trackerToken = randomBytes(24).toString('base64url'); // the tracker's API token, kept in the vault
  await call('tools.vault.put', { name: 'tracker', kind: 'bearer', secret: trackerToken });
  const tokenHash = createHash('sha256').update(trackerToken).digest('hex');
  const server = fileURLToPath(new URL('tracker-mcp.ts', import.meta.url));
  const board = join(options.dataDir, 'tracker.db');
  await call('tools.mcp.add', {
    name: 'tracker',
    transport: 'stdio',
    command: process.execPath,
    args: [server, String(options.seed), String(options.agents), tokenHash, board],
    secretEnv: { TRACKER_TOKEN: 'tracker' },
  });
}

/** Each squad's reviewer: an agent with its own Ed25519 identity, and the key workers ask it with. */
async function addReviewers(runtime: Runtime, call: Call, options: ShopOptions): Promise<void> {
  const { tenantId } = options;
  const { squads } = fleetLayout(options.agents);
  for (const squad of squads) {
    await runtime.kernel.principals.createAgent({ tenantId, name: squad.reviewer });
    await call('identity.agents.create', { agent: squad.reviewer });
  }
  // Only what a review needs: message the reviewers; the review run calls the model as this key.
  const { key } = await runtime.kernel.principals.createApiKey({
    tenantId,
    name: 'squad workers asking reviewers',
    grants: [
      ...squads.map((s) => ({ syscall: 'a2a.message', resource: `a2a/agents/${s.reviewer}` })),
      { syscall: 'model.generate', resource: '*' },
    ],
  });
  await call('tools.vault.put', { name: REVIEW_CREDENTIAL, kind: 'bearer', secret: key });
}

/**
 * Sets the shop up; `dataDir` gets the shop's git repository, whose merge queue checks every
 * change with its tests (`node test/all.js`) in a bubblewrap sandbox.
 */
export async function setUpShop(runtime: Runtime, call: Call, options: ShopOptions): Promise<WorkerInput[]> {
  const { seed, agents, plan } = options;
  const issues = seedIssues(seed, agents);
  const fleet = fleetLayout(agents);
  const looping = fleet.assignments[plan.looper]?.[0] ?? -1;
  const repo = createShopRepo(options.dataDir, issues, patchKinds(seed, agents, looping));
  await call('mq.configure', {
    queue: SHOP_QUEUE,
    repository: repo.repository,
    target: 'main',
    check: { command: 'node test/all.js', timeoutMs: 60_000 },
  });
  await addTracker(call, options);
  await addReviewers(runtime, call, options);
  // What an integration test's scratch database costs (the price book fails closed without it).
  await call('billing.prices.set', { meter: 'sqlite.provisions', unitAmount: '0.001' });
  await call('billing.prices.set', { meter: 'sqlite.ready_seconds', unitAmount: '0' });
  // The fleet's budget: every agent's, with as much again for reviews, planning and retries.
  const fleetBudget = (2 * agents * Number(AGENT_BUDGET)).toFixed(2);
  await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: fleetBudget });
  for (const text of TEAM_FACTS) await call('memory.add', { scope: TEAM_SCOPE, text, infer: false });
  await call('mail.mailboxes.create', { agent: 'lead', address: LEAD });
  const tasks: string[] = [];
  for (const issue of issues) {
    const task = await call<{ id: string }>('fleet.task.create', {
      title: `#${issue.number} ${issue.title}`,
      payload: issue,
      key: `issue-${issue.number}`,
    });
    tasks.push(task.id);
  }
  // The lead's assignment mails, ten at a time: each is its own SMTP delivery; one after another,
  // 45 took 8 s on 2 busy cores (load 20), ten at a time 6 s (the listener takes 50 connections).
  const assign = async (worker: number, assigned: readonly number[]): Promise<WorkerInput> => {
    const mailbox = workerMailbox(worker);
    await call('mail.mailboxes.create', { agent: workerName(worker), address: mailbox });
    const items = assigned.map((index) => ({
      issue: issues[index]?.number ?? 0,
      taskId: tasks[index] ?? '',
      index,
    }));
    const squad = squadOf(fleet, worker);
    await call('mail.send', {
      mailbox: LEAD,
      to: mailbox,
      subject: `${ASSIGNMENT_SUBJECT} for ${workerName(worker)} (squad ${squad.index})`,
      text: assignmentText(items),
    });
    return {
      worker,
      squad: squad.index,
      mailbox,
      lead: LEAD,
      reviewerUrl: `${options.server}/a2a/${squad.reviewer}`,
      staging: options.staging,
      dataDir: options.dataDir,
    };
  };
  const inputs: WorkerInput[] = [];
  const workers = [...fleet.assignments.entries()];
  for (let i = 0; i < workers.length; i += ASSIGN_AT_ONCE) {
    const batch = workers.slice(i, i + ASSIGN_AT_ONCE);
    inputs.push(...(await Promise.all(batch.map(([worker, assigned]) => assign(worker, assigned)))));
  }
  return inputs;
}
