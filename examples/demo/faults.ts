/**
 * The demo's own faults and designed-in events, decided up front from a seed so a run can be
 * repeated: the ones the kernel's chaos injector (chaos-plan.ts) does not make. Which workers throw
 * an unhandled exception once (their run is retried or restarted), which issues' first sandbox
 * command hangs past its wall time, which workers start on a budget too small for one model call
 * (pause → approval → resume), and the one worker whose planner loops (stopped by `maxTurns`,
 * escalated). Each is injected through a real component's normal path and counted here.
 */
import { createHash } from 'node:crypto';
import { fleetLayout } from './squads.ts';

export interface FaultCounts {
  agentCrash: number;
  sandboxHang: number;
}

/** A deterministic number in [0, 1) for a seed and a label. */
export function draw(seed: number, label: string): number {
  return createHash('sha256').update(`${seed}:${label}`).digest().readUInt32BE(0) / 2 ** 32;
}

export class FaultPlan {
  readonly counts: FaultCounts = { agentCrash: 0, sandboxHang: 0 };
  /** Agents that throw once: in-process state, so the retried or restarted run goes on. */
  readonly #crashOnce = new Set<number>();
  readonly #hung = new Set<number>();

  readonly seed: number;
  readonly agents: number;
  readonly workers: number;
  /** The worker whose planner loops on its first issue. */
  readonly looper: number;

  constructor(seed: number, agents: number, options: { crashes?: boolean } = {}) {
    this.seed = seed;
    this.agents = agents;
    this.workers = fleetLayout(agents).workers;
    for (let i = 0; i < this.workers; i++) if (this.#pick('crash', i, 0.06)) this.#crashOnce.add(i);
    if (this.#crashOnce.size === 0) this.#crashOnce.add(this.workers - 1); // at least one, for the demo
    if (options.crashes === false) this.#crashOnce.clear();
    const looper = Math.floor(draw(seed, 'loop') * this.workers);
    this.looper = this.tightBudget(looper) ? (looper + 1) % this.workers : looper;
  }

  /** Whether this worker's planner loops on its first issue. */
  loops(worker: number): boolean {
    return worker === this.looper;
  }

  #pick(kind: string, agent: number, rate: number): boolean {
    return draw(this.seed, `${kind}:${agent}`) < rate;
  }

  /** Whether an issue's first sandbox command hangs past the exec's wall time (issue 1, and ~4 %). */
  sandboxHangs(issue: number): boolean {
    if (issue !== 1 && !this.#pick('hang', issue, 0.04)) return false;
    if (!this.#hung.has(issue)) this.counts.sandboxHang++;
    this.#hung.add(issue);
    return true;
  }

  /** Whether this worker starts on a budget too small for its first model call (one in 25, at least one). */
  tightBudget(worker: number): boolean {
    return worker === 2 || (worker > 2 && this.#pick('budget', worker, 0.04));
  }

  /** Throws once for a worker picked to crash; counted. */
  maybeCrash(worker: number): void {
    if (!this.#crashOnce.delete(worker)) return;
    this.counts.agentCrash++;
    throw new Error(`worker ${worker} threw an unhandled exception (a designed crash)`);
  }
}
