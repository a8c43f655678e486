/**
 * One pass of the demo: a fresh runtime on the embedded default (SQLite in a temporary directory),
 * the shop's tracker, mailboxes and team memory, then a supervised fleet of triage agents run by
 * two workers under the kernel's chaos injector, one worker dying at a seeded moment. The same
 * seed gives the same issues, faults and moment in both passes; `mechanisms` says which of
 * Strata's recovery mechanisms are on (mechanisms.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadConfig } from '../../src/kernel/index.ts';
import { createScriptedProvider } from '../../src/models/index.ts';
import { defineSupervisor, eraseWorkflow, TERMINAL, Worker } from '../../src/orchestration/index.ts';
import { bootstrapDefaultTenant, openRuntime } from '../../src/server/index.ts';
import { defineTool } from '../../src/tools/index.ts';
import { chaosConfig } from './chaos-plan.ts';
import { draw, FaultPlan } from './faults.ts';
import { seedIssues, TEAM_FACTS } from './issues.ts';
import { BACKUP_MODEL, PRIMARY_MODEL, type Mechanisms } from './mechanisms.ts';
import { Operator } from './operator.ts';
import { collectPass, type PassReport } from './report.ts';
import { TEAM_SCOPE, triageAgent } from './triage-agent.ts';

export interface PassOptions {
  readonly seed: number;
  readonly agents: number;
  readonly mechanisms: Mechanisms;
  /** Give up on runs still unfinished after this long (they count as lost). */
  readonly deadlineMs: number;
  /** The raw pass's success, when it ran first. */
  readonly measuredWithoutMechanisms?: number;
}

const VICTIM = 'worker-b';

/** A free loopback port for the SMTP server (the lead's inbox is on this node). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

/** The victim worker dies once this many agent runs have ended: 30–50 % of them, from the seed. */
export const killAtEnded = (seed: number, agents: number): number =>
  Math.max(1, Math.floor(agents * (0.3 + 0.2 * draw(seed, 'kill'))));

const reply = (prompt: string) => {
  const text = `ok: ${prompt.slice(-60)}`;
  return { text, usage: { inputTokens: 600 + prompt.length, outputTokens: 40 + text.length } };
};
/** The scripted model (the only stand-in for an LLM), keyed by the agent's own question. */
const scripted = (name: string) =>
  createScriptedProvider({ name, script: (request) => reply(request.messages.at(-1)?.content ?? '') });

export async function runPass(options: PassOptions): Promise<PassReport> {
  const { seed, agents, mechanisms: m } = options;
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-demo-'));
  const smtpPort = await freePort();
  const config = loadConfig({
    overrides: {
      dataDir,
      models: {
        providers: [
          { name: 'demo', driver: 'scripted', models: ['triage'], retry: { attempts: 1 } },
          { name: 'backup', driver: 'scripted', models: ['triage'], retry: { attempts: 1 } },
        ],
        routes: m.routes,
        prices: { [PRIMARY_MODEL]: { input: 3, output: 15 }, [BACKUP_MODEL]: { input: 3, output: 15 } },
      },
      mail: { smtpPort, relayUrl: `smtp://127.0.0.1:${smtpPort}` },
    },
  });
  const plan = new FaultPlan(seed, agents);
  const runtime = await openRuntime({
    config,
    modelProviders: { demo: scripted('demo'), backup: scripted('backup') },
  });
  if (m.syscallAttempts !== undefined) runtime.kernel.registry.capAttempts(m.syscallAttempts);
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
    args: [
      fileURLToPath(new URL('tracker-mcp.ts', import.meta.url)),
      String(seed),
      String(agents),
      tokenHash,
    ],
    secretEnv: { TRACKER_TOKEN: 'tracker' },
  });
  await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: (agents * 0.05).toFixed(2) });
  for (const text of TEAM_FACTS) await call('memory.add', { scope: TEAM_SCOPE, text, infer: false });
  const lead = 'lead@shop.test';
  await call('mail.mailboxes.create', { agent: 'lead', address: lead });
  const triage = triageAgent(plan, { model: m.model, ...(m.runRetry ? { retry: m.runRetry } : {}) });
  const children = [];
  for (const [agent, issue] of seedIssues(seed, agents).entries()) {
    const mailbox = `triage-${agent}@agents.shop.test`;
    await call('mail.mailboxes.create', { agent: `triage-${agent}`, address: mailbox });
    const task = await call<{ id: string }>('fleet.task.create', {
      title: `#${issue.number} ${issue.title}`,
      payload: issue,
      key: `issue-${issue.number}`,
    });
    const input = { agent, taskId: task.id, mailbox, lead, issue };
    children.push({
      id: `triage-${agent}`,
      workflow: triage,
      input,
      restart: m.childRestart,
      significant: true,
    });
  }
  const team = defineSupervisor({
    name: 'demo.team',
    version: 1,
    strategy: 'one_for_one',
    autoShutdown: 'all_significant', // the team is done when every agent is
    intensity: agents * m.intensityPerAgent,
    periodMs: 60_000,
    backoff: { baseMs: 100, maxMs: 1_000 },
    breaker: { deaths: agents, windowMs: 30_000, cooldownMs: 1_000 },
    children,
  });
  runtime.engine.register(eraseWorkflow(triage));
  runtime.engine.register(eraseWorkflow(team));
  const workerOptions = { concurrency: agents + 5, leaseMs: m.leaseMs, pollMs: 50 };
  const workers = [
    new Worker(runtime.engine, { ...workerOptions, id: 'worker-a' }),
    new Worker(runtime.engine, { ...workerOptions, id: VICTIM }),
  ];
  for (const w of workers) await w.start();
  const operator = new Operator(call);
  operator.start();
  await call('chaos.set', chaosConfig(seed, agents));
  const fleetStarted = Date.now();
  const run = await runtime.engine.start('demo.team', {}, { principal });
  // One worker dies with its runs mid-step, leases unreleased, as a crash leaves them.
  const killAt = killAtEnded(seed, agents);
  let killedAfterMs = -1;
  const teamStatus = await drive(runtime.engine, tenantId, run.id, {
    deadline: fleetStarted + options.deadlineMs,
    killAtEnded: killAt,
    takeover: m.on,
    kill: () => {
      killedAfterMs = Date.now() - fleetStarted;
      void workers[1]?.stop({ abandon: true });
    },
  });
  operator.stop();
  await call('chaos.set', { enabled: false });
  const report = await collectPass(call, {
    plan,
    mechanisms: m,
    operator: operator.figures,
    lead,
    teamStatus,
    wallMs: Date.now() - started,
    fleetStarted,
    victim: { id: VICTIM, killedAfterMs, killedAtEnded: killAt },
    ...(options.measuredWithoutMechanisms !== undefined
      ? { measuredWithoutMechanisms: options.measuredWithoutMechanisms }
      : {}),
  });
  for (const w of workers) await w.stop({ abandon: true });
  await runtime.close();
  rmSync(dataDir, { recursive: true, force: true });
  return report;
}

type Engine = Awaited<ReturnType<typeof openRuntime>>['engine'];

/**
 * Watches the fleet: kills the victim worker once `killAtEnded` agent runs have ended, and waits
 * until the team's run ends, or every agent run has ended or is stranded on the dead worker (with
 * lease takeover off, nobody takes them), or the deadline passes; returns the team's status then.
 */
async function drive(
  engine: Engine,
  tenantId: string,
  teamId: string,
  options: { deadline: number; killAtEnded: number; takeover: boolean; kill: () => void },
): Promise<string> {
  let killed = false;
  for (;;) {
    const team = await engine.get(tenantId, teamId);
    if (TERMINAL.has(team.status) || Date.now() > options.deadline) return team.status;
    const runs = await engine.list(tenantId, { workflow: 'demo.triage', limit: 1000 });
    if (!killed && runs.filter((r) => TERMINAL.has(r.status)).length >= options.killAtEnded) {
      killed = true;
      options.kill();
    }
    const stranded = (r: (typeof runs)[number]) =>
      !options.takeover && killed && r.status === 'running' && r.leaseOwner === VICTIM;
    const open = runs.filter((r) => !TERMINAL.has(r.status) && !stranded(r));
    if (runs.length > 0 && open.length === 0 && runs.some(stranded)) return team.status;
    await new Promise((ok) => setTimeout(ok, 100));
  }
}
