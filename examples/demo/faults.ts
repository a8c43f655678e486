/**
 * The demo's own faults and designed-in events, decided up front from a seed so a run can be
 * repeated: the ones the kernel's chaos injector (chaos-plan.ts) does not make. Which agents throw
 * an unhandled exception once (their run is retried or restarted), whose first sandbox command
 * hangs past its wall time, and which start on a budget too small for one model call (pause →
 * approval → resume). Each is injected through a real component's normal path and counted here.
 */
import { createHash } from 'node:crypto';

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

  constructor(seed: number, agents: number, options: { crashes?: boolean } = {}) {
    this.seed = seed;
    this.agents = agents;
    for (let i = 0; i < agents; i++) if (this.#pick('crash', i, 0.06)) this.#crashOnce.add(i);
    if (this.#crashOnce.size === 0) this.#crashOnce.add(agents - 1); // at least one, for the demo
    if (options.crashes === false) this.#crashOnce.clear();
  }

  #pick(kind: string, agent: number, rate: number): boolean {
    return draw(this.seed, `${kind}:${agent}`) < rate;
  }

  /** Whether the agent's first sandbox command hangs past the exec's wall time (agent 1, and ~4 %). */
  sandboxHangs(agent: number): boolean {
    if (agent !== 1 && !this.#pick('hang', agent, 0.04)) return false;
    if (!this.#hung.has(agent)) this.counts.sandboxHang++;
    this.#hung.add(agent);
    return true;
  }

  /** Whether this agent starts on a budget too small for its first model call (one in 25, at least one). */
  tightBudget(agent: number): boolean {
    return agent === 2 || (agent > 2 && this.#pick('budget', agent, 0.04));
  }

  /** Throws once for an agent picked to crash; counted. */
  maybeCrash(agent: number): void {
    if (!this.#crashOnce.delete(agent)) return;
    this.counts.agentCrash++;
    throw new Error(`triage agent ${agent} threw an unhandled exception (a designed crash)`);
  }
}
