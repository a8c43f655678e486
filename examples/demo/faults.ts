/**
 * The demo's faults, decided up front from a seed so a run can be repeated: which agents' sandbox
 * command crashes or hangs on its first try, which agents throw (an unhandled exception: the
 * supervisor restarts them), which start on a budget too small for one model call, and the model
 * provider's 429 / 503 answers. Every fault is injected in this process through a real component's
 * normal path (a sandbox command that really segfaults or overruns its wall time, a workflow that
 * really throws, a provider that answers errors), and counted here so the report can say how many
 * were injected and compare with what the layers recorded.
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../../src/kernel/index.ts';
import { createScriptedProvider, type ModelProvider } from '../../src/models/index.ts';

export interface FaultCounts {
  model429: number;
  model503: number;
  agentCrash: number;
  workerKill: number;
}

/** A deterministic number in [0, 1) for a seed and a label. */
export function draw(seed: number, label: string): number {
  return createHash('sha256').update(`${seed}:${label}`).digest().readUInt32BE(0) / 2 ** 32;
}

export class FaultPlan {
  readonly counts: FaultCounts = {
    model429: 0,
    model503: 0,
    agentCrash: 0,
    workerKill: 0,
  };
  /** Agents that throw once: in-process state, so the restarted incarnation runs clean. */
  readonly #crashOnce = new Set<number>();
  readonly #seenPrompts = new Map<string, number>();
  readonly #faulted = new Set<string>();
  /** Prompts answered after a 429/503 on an earlier attempt: the models layer retried them. */
  modelRecovered = 0;

  readonly seed: number;
  readonly agents: number;
  /** Probability that a model call's first attempt is answered 429 or 503. */
  readonly modelErrorRate: number;

  constructor(seed: number, agents: number, modelErrorRate = 0.12) {
    this.seed = seed;
    this.agents = agents;
    this.modelErrorRate = modelErrorRate;
    for (let i = 0; i < agents; i++) if (this.#pick('crash', i, 0.1)) this.#crashOnce.add(i);
    if (this.#crashOnce.size === 0) this.#crashOnce.add(agents - 1); // at least one, for the demo
  }

  #pick(kind: string, agent: number, rate: number): boolean {
    return draw(this.seed, `${kind}:${agent}`) < rate;
  }

  /** What the agent's first sandbox command does: `ok`, `crash` (SIGSEGV) or `hang` (past its wall time). */
  sandboxFault(agent: number): 'ok' | 'crash' | 'hang' {
    const x = draw(this.seed, `sandbox:${agent}`);
    return agent === 0 ? 'crash' : agent === 1 ? 'hang' : x < 0.08 ? 'crash' : x < 0.14 ? 'hang' : 'ok';
  }

  /** Whether this agent starts on a budget too small for its first model call (one in 25, at least one). */
  tightBudget(agent: number): boolean {
    return agent === 2 || (agent > 2 && this.#pick('budget', agent, 0.04));
  }

  /** Throws once for an agent picked to crash; counted. */
  maybeCrash(agent: number): void {
    if (!this.#crashOnce.delete(agent)) return;
    this.counts.agentCrash++;
    throw new Error(`injected crash: triage agent ${agent} threw an unhandled exception`);
  }

  /**
   * A scripted model (the only stand-in for an LLM): the first attempt of a prompt fails with a 429
   * (Retry-After 50 ms) or a 503 at `modelErrorRate`; a retry of the same prompt is answered.
   */
  provider(answer: (prompt: string) => string): ModelProvider {
    return createScriptedProvider({
      script: (request) => {
        // Keyed by the agent's own question (not the recalled facts, which depend on timing).
        const prompt = request.messages.at(-1)?.content ?? '';
        const seen = this.#seenPrompts.get(prompt) ?? 0;
        this.#seenPrompts.set(prompt, seen + 1);
        const x = seen === 0 ? draw(this.seed, `model:${prompt}`) : 1;
        if (x < this.modelErrorRate / 2) {
          this.counts.model429++;
          this.#faulted.add(prompt);
          return { error: new StrataError('E_RATE_LIMITED', 'scripted 429', { retryAfterMs: 50 }) };
        }
        if (x < this.modelErrorRate) {
          this.counts.model503++;
          this.#faulted.add(prompt);
          return { error: new StrataError('E_MODEL_UNAVAILABLE', 'scripted 503') };
        }
        if (this.#faulted.delete(prompt)) this.modelRecovered++;
        const text = answer(prompt);
        return { text, usage: { inputTokens: 600 + prompt.length, outputTokens: 40 + text.length } };
      },
    });
  }
}
