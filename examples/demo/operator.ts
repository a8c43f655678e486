/**
 * What a person and a bad day do while the fleet runs: the team lead answers approvals (a budget
 * raise at once, a refund after it has waited `decideAfterMs`, as a person would), and half way
 * through one worker dies with its runs mid-step: stopped abandoning them without releasing their
 * leases, as a crash leaves them, so the other worker takes them over by replay when they expire.
 */
import type { Worker } from '../../src/orchestration/index.ts';
import type { FaultPlan } from './faults.ts';
import { AGENT_BUDGET } from './triage-agent.ts';

type Call = <T>(name: string, input: unknown) => Promise<T>;

export interface OperatorFigures {
  budgetRaises: number;
  refundsApproved: number;
  killedAtTasksDone: number | null;
}

interface Approval {
  id: string;
  question: string;
  createdAt: number;
}

export class Operator {
  readonly figures: OperatorFigures = { budgetRaises: 0, refundsApproved: 0, killedAtTasksDone: null };
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  readonly #call: Call;
  readonly #plan: FaultPlan;
  readonly #victim: Worker | undefined;
  readonly #decideAfterMs: number;

  constructor(call: Call, plan: FaultPlan, victim: Worker | undefined, decideAfterMs = 300) {
    this.#call = call;
    this.#plan = plan;
    this.#victim = victim;
    this.#decideAfterMs = decideAfterMs;
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#busy) return;
      this.#busy = true;
      void this.#tick().finally(() => (this.#busy = false));
    }, 150);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #tick(): Promise<void> {
    const { pauses } = await this.#call<{ pauses: { approvalId: string | null }[] }>(
      'runs.budget_pauses.list',
      {},
    );
    const raises = new Set(pauses.flatMap((p) => (p.approvalId ? [p.approvalId] : [])));
    for (const id of raises) {
      await this.#call('approvals.decide', { id, decision: 'approve', value: { limit: AGENT_BUDGET } });
      this.figures.budgetRaises++;
    }
    const { approvals } = await this.#call<{ approvals: Approval[] }>('approvals.list', {});
    for (const a of approvals) {
      // Budget raises are answered above with the limit; a refund waits for the person a moment.
      if (!a.question.startsWith('Refund') || Date.now() - a.createdAt < this.#decideAfterMs) continue;
      await this.#call('approvals.decide', { id: a.id, decision: 'approve', reason: 'refund is right' });
      this.figures.refundsApproved++;
    }
    await this.#maybeKill();
  }

  async #maybeKill(): Promise<void> {
    if (!this.#victim || this.figures.killedAtTasksDone !== null) return;
    const { tasks } = await this.#call<{ tasks: unknown[] }>('fleet.task.list', {
      status: 'completed',
      limit: 1000,
    });
    if (tasks.length < Math.floor(this.#plan.agents / 2)) return;
    this.figures.killedAtTasksDone = tasks.length;
    this.#plan.counts.workerKill++;
    await this.#victim.stop({ abandon: true });
  }
}
