/**
 * One pass of the demo: a fresh runtime on the embedded default (SQLite in a temporary directory),
 * the shop (shop-setup.ts), then a supervised fleet of triage agents run by two workers, one in
 * this process and one in a child process on the same SQLite file, under the kernel's chaos
 * injector; the child is killed with SIGKILL at a seeded point. The same seed gives the same
 * issues, faults and kill point in both passes; `mechanisms` says which of Strata's recovery
 * mechanisms are on (mechanisms.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defineSupervisor, eraseWorkflow, TERMINAL, Worker } from '../../src/orchestration/index.ts';
import { bootstrapDefaultTenant, startServer } from '../../src/server/index.ts';
import { chaosConfig } from './chaos-plan.ts';
import { AGENTS_QUEUE, freePort, openDemoRuntime } from './demo-runtime.ts';
import { draw, FaultPlan } from './faults.ts';
import type { Mechanisms } from './mechanisms.ts';
import { Operator } from './operator.ts';
import { collectPass, type PassReport } from './report.ts';
import { LEAD, setUpShop } from './shop-setup.ts';
import { seedIssues } from './issues.ts';
import { startStaging } from './staging.ts';
import { SHOP_QUEUE } from './submit-patch.ts';
import type { ChildOptions } from './worker-child.ts';

export interface PassOptions {
  readonly seed: number;
  readonly agents: number;
  readonly mechanisms: Mechanisms;
  /** Give up on runs still unfinished after this long (they count as lost). */
  readonly deadlineMs: number;
  /** The raw pass's success, when it ran first. */
  readonly measuredWithoutMechanisms?: number;
  /** Serve the dashboard on a loopback port while the pass runs, and print its URL and key. */
  readonly open?: boolean;
}

const VICTIM = 'worker-child';

/** The child worker dies once this many agent runs have ended: 30–50 % of them, from the seed. */
export const killAtEnded = (seed: number, agents: number): number =>
  Math.max(1, Math.floor(agents * (0.3 + 0.2 * draw(seed, 'kill'))));

/** …or at this seeded moment after the fleet starts (1 s + 30–50 ms per agent), if that comes first. */
export const killAfterMs = (seed: number, agents: number): number =>
  1000 + Math.floor(agents * (30 + 20 * draw(seed, 'kill')));

/** SIGKILLs the child worker's process group (once; later calls find it gone). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Starts the child worker and resolves once it serves the agents' queue. */
async function startChild(options: ChildOptions): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('worker-child.ts', import.meta.url));
  // Its own process group: the kill takes the worker with its Chromium, sandboxes and MCP servers.
  const child = spawn(process.execPath, [script, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((ready, fail) => {
    lines.on('line', (line) => line === 'ready' && ready());
    child.once('exit', (code) => fail(new Error(`the child worker exited (${code}) before serving`)));
  });
  return child;
}

export async function runPass(options: PassOptions): Promise<PassReport> {
  const { seed, agents, mechanisms: m } = options;
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-demo-'));
  const smtpPort = await freePort();
  const plan = new FaultPlan(seed, agents);
  const common = { dataDir, seed, agents, mechanisms: m, relayPort: smtpPort };
  const { runtime, triage } = await openDemoRuntime({ ...common, smtpPort, chaos: false }, plan);
  const { tenantId, adminKey = '' } = await bootstrapDefaultTenant(runtime);
  const principal = await runtime.kernel.authenticate({ apiKey: adminKey });
  const call = <T>(name: string, input: unknown) => runtime.kernel.call<T>(name, input, { principal });
  const server = options.open ? await startServer({ runtime, host: '127.0.0.1', port: 0 }) : undefined;
  if (server) console.log(`  dashboard: ${server.url}/ui  (log in with ${adminKey})`);
  const staging = await startStaging(seedIssues(seed, agents));
  const inputs = await setUpShop(runtime, call, { seed, agents, dataDir, staging: staging.origin });
  const team = defineSupervisor({
    name: 'demo.team',
    version: 1,
    strategy: 'one_for_one',
    autoShutdown: 'all_significant', // the team is done when every agent is
    intensity: agents * m.intensityPerAgent,
    periodMs: 60_000,
    backoff: { baseMs: 100, maxMs: 1_000 },
    breaker: { deaths: agents, windowMs: 30_000, cooldownMs: 1_000 },
    children: inputs.map((input) => ({
      id: `triage-${input.agent}`,
      workflow: triage,
      input,
      restart: m.childRestart,
      significant: true,
    })),
  });
  runtime.engine.register(eraseWorkflow(team));
  const timing = { leaseMs: m.leaseMs, pollMs: 50 };
  const workers = [
    // About half the agents at once: the child worker runs the rest.
    new Worker(runtime.engine, {
      ...timing,
      id: 'worker-parent',
      queues: [AGENTS_QUEUE],
      concurrency: Math.ceil(agents / 2),
    }),
    // The team's supervisor, the patch submissions and the queue's rework runs.
    new Worker(runtime.engine, { ...timing, id: 'worker-parent-default', concurrency: agents + 5 }),
  ];
  for (const w of workers) await w.start();
  const child = await startChild({
    dataDir,
    seed,
    agents,
    on: m.on,
    leaseMs: m.leaseMs,
    smtpPort: await freePort(),
    relayPort: smtpPort,
    workerId: VICTIM,
  });
  const operator = new Operator(call);
  operator.start();
  await call('chaos.set', chaosConfig(seed, agents));
  const fleetStarted = Date.now();
  const run = await runtime.engine.start('demo.team', {}, { principal });
  const killAt = killAtEnded(seed, agents);
  let killedAfterMs = -1;
  const teamStatus = await drive(runtime.engine, tenantId, run.id, {
    deadline: fleetStarted + options.deadlineMs,
    killAtEnded: killAt,
    killAt: fleetStarted + killAfterMs(seed, agents),
    takeover: m.on,
    kill: () => {
      killedAfterMs = Date.now() - fleetStarted;
      killGroup(child); // kill -9: no handler runs, its leases are left to expire
    },
  });
  operator.stop();
  await call('chaos.set', { enabled: false });
  await queueSettled(call, fleetStarted + options.deadlineMs);
  const report = await collectPass(call, {
    plan,
    mechanisms: m,
    operator: operator.figures,
    lead: LEAD,
    teamStatus,
    wallMs: Date.now() - started,
    victim: { id: VICTIM, killedAfterMs, killedAtEnded: killAt },
    ...(options.measuredWithoutMechanisms !== undefined
      ? { measuredWithoutMechanisms: options.measuredWithoutMechanisms }
      : {}),
  });
  killGroup(child);
  staging.server.close();
  for (const w of workers) await w.stop({ abandon: true });
  await (server ? server.close() : runtime.close()); // a server's close closes its runtime
  rmSync(dataDir, { recursive: true, force: true });
  return report;
}

/** Waits until every change submitted to the shop's queue is decided (or the deadline passes). */
async function queueSettled(call: Call, deadline: number): Promise<void> {
  const open = ['queued', 'testing'];
  while (Date.now() < deadline) {
    const { entries } = await call<{ entries: unknown[] }>('mq.list', { queue: SHOP_QUEUE, states: open });
    if (entries.length === 0) return;
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

type Call = <T>(name: string, input: unknown) => Promise<T>;
type Engine = Awaited<ReturnType<typeof openDemoRuntime>>['runtime']['engine'];

/**
 * Watches the fleet: kills the child worker once `killAtEnded` agent runs have ended or `killAt`
 * has come, while it holds a run (a death with nothing in hand would show nothing), and waits
 * until the team's run ends, or every agent run has ended or is stranded on the dead worker (with
 * lease takeover off, nobody takes them), or the deadline passes; returns the team's status then.
 */
async function drive(
  engine: Engine,
  tenantId: string,
  teamId: string,
  options: { deadline: number; killAtEnded: number; killAt: number; takeover: boolean; kill: () => void },
): Promise<string> {
  let killed = false;
  for (;;) {
    const team = await engine.get(tenantId, teamId);
    if (TERMINAL.has(team.status) || Date.now() > options.deadline) return team.status;
    const runs = await engine.list(tenantId, { workflow: 'demo.triage', limit: 1000 });
    const held = runs.some((r) => r.status === 'running' && r.leaseOwner === VICTIM);
    const ended = runs.filter((r) => TERMINAL.has(r.status)).length;
    if (!killed && held && (ended >= options.killAtEnded || Date.now() >= options.killAt)) {
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
