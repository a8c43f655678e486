/**
 * The demo's second worker, in a process of its own on the same data directory, so that it can be
 * killed with SIGKILL (`kill -9`) mid-way: no handler runs, its leases are left to expire, and the
 * parent's worker takes its runs over by replay (or, with takeover off, they stay stranded).
 * Usage: `node worker-child.ts '<json options>'` (see ChildOptions); prints `ready` once serving.
 */
import { Worker } from '../../src/orchestration/index.ts';
import { AGENTS_QUEUE, openDemoRuntime } from './demo-runtime.ts';
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
const { runtime } = await openDemoRuntime({ ...options, mechanisms: m, chaos: true }, plan);
const worker = new Worker(runtime.engine, {
  id: options.workerId,
  queues: [AGENTS_QUEUE],
  concurrency: options.agents + 5,
  leaseMs: m.leaseMs,
  pollMs: 50,
});
await worker.start();
console.log('ready');
