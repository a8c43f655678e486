/**
 * The demo's second worker, in a process of its own on the same data directory, so that it can be
 * killed with SIGKILL (`kill -9`) mid-way: no handler runs, its leases are left to expire, and the
 * parent's worker takes its runs over by replay (or, with takeover off, they stay stranded).
 * Usage: `node worker-child.ts '<json options>'` (see ChildOptions); prints `ready` once serving.
 * It starts while the parent sets the shop up, with chaos off: the parent writes START_CHAOS to
 * its stdin when the fleet starts, and the kernel's chaos injector starts then, in both processes
 * alike (the model outage is timed from it).
 */
import { createInterface } from 'node:readline';
import { chaosSchema } from '../../src/kernel/index.ts';
import { Worker } from '../../src/orchestration/index.ts';
import { chaosConfig } from './chaos-plan.ts';
import { AGENTS_QUEUE, openDemoRuntime, START_CHAOS } from './demo-runtime.ts';
import { FaultPlan } from './faults.ts';
import { mechanisms } from './mechanisms.ts';

export interface ChildOptions {
  dataDir: string;
  seed: number;
  agents: number;
  on: boolean;
  leaseMs: number;
  smtpPort: number;
  relayPort: number;
  workerId: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const m = mechanisms(options.on, options.leaseMs);
// The designed crashes happen in the parent only, so they are counted once.
const plan = new FaultPlan(options.seed, options.agents, { crashes: false });
const { runtime } = await openDemoRuntime({ ...options, mechanisms: m }, plan);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === START_CHAOS) runtime.chaos.set(chaosSchema.parse(chaosConfig(options.seed)));
});
const worker = new Worker(runtime.engine, {
  id: options.workerId,
  queues: [AGENTS_QUEUE],
  concurrency: options.agents + 5,
  leaseMs: m.leaseMs,
  pollMs: 50,
});
await worker.start();
console.log('ready');
