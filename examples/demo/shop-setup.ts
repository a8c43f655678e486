/**
 * What the demo's shop has before the sprint, made through syscalls as an operator would: the
 * tracker (an MCP server over stdio whose API token is kept in the vault) and a native labelling
 * tool, the tenant's budget, the team's memory, the lead's and each agent's mailbox, and one task
 * per seeded issue on the fleet's task board. Returns each agent's workflow input.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { openRuntime } from '../../src/server/index.ts';
import { defineTool } from '../../src/tools/index.ts';
import { seedIssues, TEAM_FACTS, type Issue } from './issues.ts';
import { createShopRepo, patchKinds } from './shop-repo.ts';
import { SHOP_QUEUE } from './submit-patch.ts';
import { TEAM_SCOPE } from './triage-agent.ts';

type Call = <T>(name: string, input: unknown) => Promise<T>;
type Runtime = Awaited<ReturnType<typeof openRuntime>>;

export const LEAD = 'lead@shop.test';

export interface AgentInput {
  agent: number;
  taskId: string;
  mailbox: string;
  lead: string;
  issue: Issue;
  patch: string;
  staging: string;
}

/**
 * Sets the shop up; `dataDir` gets the shop's git repository, whose merge queue checks every
 * change with its tests (`node test/all.js`) in a bubblewrap sandbox.
 */
export async function setUpShop(
  runtime: Runtime,
  call: Call,
  options: { seed: number; agents: number; dataDir: string; staging: string },
): Promise<AgentInput[]> {
  const { seed, agents } = options;
  const issues = seedIssues(seed, agents);
  const repo = createShopRepo(options.dataDir, issues, patchKinds(seed, agents));
  await call('mq.configure', {
    queue: SHOP_QUEUE,
    repository: repo.repository,
    target: 'main',
    check: { command: 'node test/all.js', timeoutMs: 60_000 },
  });
  runtime.tools.register(
    defineTool({
      name: 'tracker.label',
      description: 'Labels an issue of the shop tracker and sets its severity.',
      input: z.object({ issue: z.number(), labels: z.array(z.string()), severity: z.string() }),
      output: z.object({ issue: z.number(), labels: z.array(z.string()) }),
      costMicros: 500,
      handler: ({ issue, labels }) => ({ issue, labels }),
    }),
  );
  const trackerToken = randomBytes(24).toString('base64url'); // the tracker's API token, kept in the vault
  await call('tools.vault.put', { name: 'tracker', kind: 'bearer', secret: trackerToken });
  const tokenHash = createHash('sha256').update(trackerToken).digest('hex');
  const server = fileURLToPath(new URL('tracker-mcp.ts', import.meta.url));
  await call('tools.mcp.add', {
    name: 'tracker',
    transport: 'stdio',
    command: process.execPath,
    args: [server, String(seed), String(agents), tokenHash],
    secretEnv: { TRACKER_TOKEN: 'tracker' },
  });
  // What an integration test's scratch database costs (the price book fails closed without it).
  await call('billing.prices.set', { meter: 'sqlite.provisions', unitAmount: '0.001' });
  await call('billing.prices.set', { meter: 'sqlite.ready_seconds', unitAmount: '0' });
  await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: (agents * 0.05).toFixed(2) });
  for (const text of TEAM_FACTS) await call('memory.add', { scope: TEAM_SCOPE, text, infer: false });
  await call('mail.mailboxes.create', { agent: 'lead', address: LEAD });
  const inputs: AgentInput[] = [];
  for (const [agent, issue] of issues.entries()) {
    const mailbox = `triage-${agent}@agents.shop.test`;
    await call('mail.mailboxes.create', { agent: `triage-${agent}`, address: mailbox });
    const task = await call<{ id: string }>('fleet.task.create', {
      title: `#${issue.number} ${issue.title}`,
      payload: issue,
      key: `issue-${issue.number}`,
    });
    inputs.push({
      agent,
      taskId: task.id,
      mailbox,
      lead: LEAD,
      issue,
      patch: repo.patches[agent] ?? '',
      staging: options.staging,
    });
  }
  return inputs;
}
