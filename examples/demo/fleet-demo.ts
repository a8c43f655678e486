/**
 * `npm run demo [-- --agents N --seed S]`: a supervised fleet of triage agents on the embedded
 * default (SQLite in a temporary directory, no server), touching all six layers, with faults
 * injected (see faults.ts and operator.ts); prints a short report and, last, one JSON line.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig } from '../../src/kernel/index.ts';
import { defineSupervisor, eraseWorkflow, waitForRun, Worker } from '../../src/orchestration/index.ts';
import { bootstrapDefaultTenant, openRuntime } from '../../src/server/index.ts';
import { defineTool } from '../../src/tools/index.ts';
import { FaultPlan } from './faults.ts';
import { seedIssues, TEAM_FACTS } from './issues.ts';
import { Operator } from './operator.ts';
import { collectReport, printReport } from './report.ts';
import { MODEL, TEAM_SCOPE, triageAgent } from './triage-agent.ts';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '50' },
    seed: { type: 'string', default: '7' },
    // Under 5 s, on 2 busy cores the surviving worker can miss its own renewals (see the README).
    'lease-ms': { type: 'string', default: '5000' },
  },
});
const agents = Number(args.agents);
const seed = Number(args.seed);
if (!Number.isInteger(agents) || agents < 3 || agents > 500) throw new Error('--agents must be 3..500');

/** A free loopback port for the SMTP server (the lead's inbox is on this node). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

const started = Date.now();
const dataDir = mkdtempSync(join(tmpdir(), 'strata-demo-'));
const smtpPort = await freePort();
const config = loadConfig({
  overrides: {
    dataDir,
    models: {
      providers: [{ name: 'demo', driver: 'scripted', models: ['triage'] }],
      prices: { [MODEL]: { input: 3, output: 15 } }, // USD per million tokens
    },
    mail: { smtpPort, relayUrl: `smtp://127.0.0.1:${smtpPort}` },
  },
});
const plan = new FaultPlan(seed, agents);
const runtime = await openRuntime({
  config,
  modelProviders: { demo: plan.provider((prompt) => `ok: ${prompt.slice(-60)}`) },
});
const { tenantId, adminKey = '' } = await bootstrapDefaultTenant(runtime);
const principal = await runtime.kernel.authenticate({ apiKey: adminKey });
const call = <T>(name: string, input: unknown) => runtime.kernel.call<T>(name, input, { principal });

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
await call('tools.mcp.add', {
  name: 'tracker',
  transport: 'stdio',
  command: process.execPath,
  args: [fileURLToPath(new URL('tracker-mcp.ts', import.meta.url)), String(seed), String(agents), tokenHash],
  secretEnv: { TRACKER_TOKEN: 'tracker' },
});
await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: (agents * 0.05).toFixed(2) });
for (const text of TEAM_FACTS) await call('memory.add', { scope: TEAM_SCOPE, text, infer: false });
const lead = 'lead@shop.test';
await call('mail.mailboxes.create', { agent: 'lead', address: lead });
const issues = seedIssues(seed, agents);
const children = [];
for (const [agent, issue] of issues.entries()) {
  const mailbox = `triage-${agent}@agents.shop.test`;
  await call('mail.mailboxes.create', { agent: `triage-${agent}`, address: mailbox });
  const task = await call<{ id: string }>('fleet.task.create', {
    title: `#${issue.number} ${issue.title}`,
    payload: issue,
    key: `issue-${issue.number}`,
  });
  const input = { agent, taskId: task.id, mailbox, lead, issue };
  children.push({ id: `triage-${agent}`, workflow: triageAgent(plan), input });
}
const triage = triageAgent(plan);
const team = defineSupervisor({
  name: 'demo.team',
  version: 1,
  strategy: 'one_for_one',
  autoShutdown: 'all_significant', // the team is done when every agent is
  intensity: agents,
  periodMs: 60_000,
  backoff: { baseMs: 100, maxMs: 1_000 },
  breaker: { deaths: agents, windowMs: 30_000, cooldownMs: 1_000 },
  children: children.map((c) => ({ ...c, workflow: triage, restart: 'transient', significant: true })),
});
runtime.engine.register(eraseWorkflow(triage));
runtime.engine.register(eraseWorkflow(team));
// Two workers, as two processes would be; one of them dies half way (operator.ts).
const workerOptions = { concurrency: agents + 5, leaseMs: Number(args['lease-ms']), pollMs: 50 };
const workers = [new Worker(runtime.engine, workerOptions), new Worker(runtime.engine, workerOptions)];
for (const w of workers) await w.start();
const operator = new Operator(call, plan, workers[0]);
operator.start();
const run = await runtime.engine.start('demo.team', {}, { principal });
const finished = await waitForRun(runtime.engine, tenantId, run.id, { timeoutMs: 170_000, pollMs: 100 });
operator.stop();
const report = await collectReport(call, {
  plan,
  operator: operator.figures,
  lead,
  wallMs: Date.now() - started,
  teamStatus: finished.status,
});
for (const w of workers) await w.stop();
await runtime.close();
rmSync(dataDir, { recursive: true, force: true });
printReport(report);
