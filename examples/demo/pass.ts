/**
 * One pass of the demo: a fresh runtime on the embedded default (SQLite in a temporary directory)
 * and its server (the reviewers answer A2A there; `--open` prints the dashboard's URL), the shop
 * (shop-setup.ts), then the fleet: a supervisor over one supervisor per squad, each over its
 * workers, run by two workers, one in this process and one in a child process on the same SQLite
 * file (started while the shop is set up), under the kernel's chaos injector; the child is killed
 * with SIGKILL at a seeded point and a worker in this process starts in its place. The same seed gives the same issues, faults and kill point in both passes; `mechanisms` says which
 * of Strata's recovery mechanisms are on (mechanisms.ts).
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
import { AGENTS_QUEUE, freePort, openDemoRuntime, START_CHAOS } from './demo-runtime.ts';
import { draw, FaultPlan } from './faults.ts';
import type { Mechanisms } from './mechanisms.ts';
import { Operator } from './operator.ts';
import { collectPass, type PassReport } from './report.ts';
import { LEAD, setUpShop } from './shop-setup.ts';
import { seedIssues } from './issues.ts';
import { fleetLayout, workerName } from './squads.ts';
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
  /** Print the dashboard's URL and key while the pass runs. */
  readonly open?: boolean;
  /** Leave payments approvals and refunds to the person at the dashboard or the CLI. */
  readonly interactive?: boolean;
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
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  child.stdin?.on('error', () => undefined); // written to once, while it lives
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
  const { runtime, worker } = await openDemoRuntime({ ...common, smtpPort }, plan);
  const { tenantId, adminKey = '' } = await bootstrapDefaultTenant(runtime);
  const principal = await runtime.kernel.authenticate({ apiKey: adminKey });
  const call = <T>(name: string, input: unknown) => runtime.kernel.call<T>(name, input, { principal });
  const server = await startServer({ runtime, host: '127.0.0.1', port: 0 });
  if (options.open || options.interactive)
    console.log(`  dashboard: ${server.url}/ui  (log in with ${adminKey})`);
  const staging = await startStaging(seedIssues(seed, agents));
  const shop = { seed, agents, dataDir, staging: staging.origin, server: server.url, tenantId, plan };
  // The child worker starts (about 5 s of loading and opening on 2 busy cores) while the shop is set
  // up; it serves nothing until the fleet starts, and its chaos waits for the fleet too.
  const childStarting = startChild({
    dataDir,
    seed,
    agents,
    on: m.on,
    leaseMs: m.leaseMs,
    smtpPort: await freePort(),
    relayPort: smtpPort,
    workerId: VICTIM,
  });
  childStarting.catch(() => undefined); // awaited below; a failed shop set-up must not leave it unhandled
  const inputs = await setUpShop(runtime, call, shop);
  // One supervisor per squad over its workers, under the fleet's: a squad's restarts stay its own.
  const squads = fleetLayout(agents).squads.map((squad) => {
    const members = inputs.filter((input) => input.squad === squad.index);
    return defineSupervisor({
      name: `demo.squad-${squad.index}`,
      version: 1,
      strategy: 'one_for_one',
      autoShutdown: 'all_significant', // the squad is done when every worker is
      intensity: 2 * members.length * m.intensityPerAgent, // a worker may die twice a minute
      periodMs: 60_000,
      backoff: { baseMs: 100, maxMs: 1_000 },
      breaker: { deaths: members.length, windowMs: 30_000, cooldownMs: 1_000 },
      children: members.map((input) => ({
        id: workerName(input.worker),
        workflow: worker,
        input,
        restart: m.childRestart,
        significant: true,
      })),
    });
  });
  const team = defineSupervisor({
    name: 'demo.fleet',
    version: 1,
    strategy: 'one_for_one',
    autoShutdown: 'all_significant',
    intensity: 2 * squads.length * m.intensityPerAgent,
    periodMs: 60_000,
    children: squads.map((squad) => ({
      id: squad.name,
      workflow: squad,
      input: {},
      restart: m.childRestart,
      significant: true,
    })),
  });
  for (const s of [...squads, team]) runtime.engine.register(eraseWorkflow(s));
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
  // Started in the parent once the child is dead, in its place (as a process supervisor would
  // restart it): without it, the dead worker's runs, once their leases expired, waited for a slot of
  // the parent's worker, its own runs holding them (9 s of a 33 s fleet at 8 agents, up to 27 s at 50).
  const replacement = new Worker(runtime.engine, {
    ...timing,
    id: 'worker-parent-replacement',
    queues: [AGENTS_QUEUE],
    concurrency: agents - Math.ceil(agents / 2),
  });
  workers.push(replacement);
  const child = await childStarting;
  const operator = new Operator(call, { interactive: options.interactive ?? false, url: server.url });
  operator.start();
  await call('chaos.set', chaosConfig(seed));
  child.stdin?.write(`${START_CHAOS}\n`);
  const fleetStarted = Date.now();
  const run = await runtime.engine.start('demo.fleet', {}, { principal });
  const killAt = killAtEnded(seed, agents);
  let killedAfterMs = -1;
  let heldAtKill = 0;
  const teamStatus = await drive(runtime.engine, tenantId, run.id, {
    deadline: fleetStarted + options.deadlineMs,
    killAtEnded: killAt,
    killAt: fleetStarted + killAfterMs(seed, agents),
    takeover: m.on,
    held: (n) => (heldAtKill = n),
    kill: () => {
      killedAfterMs = Date.now() - fleetStarted;
      killGroup(child); // kill -9: no handler runs, its leases are left to expire
      void replacement.start();
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
    victim: { id: VICTIM, killedAfterMs, killedAtEnded: killAt, heldAtKill },
    ...(options.measuredWithoutMechanisms !== undefined
      ? { measuredWithoutMechanisms: options.measuredWithoutMechanisms }
      : {}),
  });
  killGroup(child);
  staging.server.close();
  for (const w of workers) await w.stop({ abandon: true });
  await server.close(); // and its runtime
  if (process.env['STRATA_DEMO_KEEP'] === undefined) rmSync(dataDir, { recursive: true, force: true });
  else console.log(`  kept ${dataDir}`);
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
  options: {
    deadline: number;
    killAtEnded: number;
    killAt: number;
    takeover: boolean;
    kill: () => void;
    /** How many runs the dead worker held, read once it is dead (it can change nothing then). */
    held: (runs: number) => void;
  },
): Promise<string> {
  let killed = false;
  for (;;) {
    const team = await engine.get(tenantId, teamId);
    if (TERMINAL.has(team.status) || Date.now() > options.deadline) return team.status;
    const runs = await engine.list(tenantId, { workflow: 'demo.worker', limit: 1000 });
    const held = runs.some((r) => r.status === 'running' && r.leaseOwner === VICTIM);
    const ended = runs.filter((r) => TERMINAL.has(r.status)).length;
    if (!killed && held && (ended >= options.killAtEnded || Date.now() >= options.killAt)) {
      killed = true;
      options.kill();
      const after = await engine.list(tenantId, { workflow: 'demo.worker', limit: 1000 });
      options.held(after.filter((r) => r.status === 'running' && r.leaseOwner === VICTIM).length);
    }
    const stranded = (r: (typeof runs)[number]) =>
      !options.takeover && killed && r.status === 'running' && r.leaseOwner === VICTIM;
    const open = runs.filter((r) => !TERMINAL.has(r.status) && !stranded(r));
    if (runs.length > 0 && open.length === 0 && runs.some(stranded)) return team.status;
    await new Promise((ok) => setTimeout(ok, 100));
  }
}
