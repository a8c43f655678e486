/**
 * What a person does while the fleet runs: the team lead answers approvals, a budget raise at
 * once and a refund after it has waited `decideAfterMs`, as a person would. A call that fails is
 * tried again on the next tick, as a person clicks again.
 */
import { AGENT_BUDGET } from './triage-agent.ts';

type Call = <T>(name: string, input: unknown) => Promise<T>;

export interface OperatorFigures {
  budgetRaises: number;
  refundsApproved: number;
}

interface Approval {
  id: string;
  question: string;
  createdAt: number;
}

export class Operator {
  readonly figures: OperatorFigures = { budgetRaises: 0, refundsApproved: 0 };
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  readonly #call: Call;
  readonly #decideAfterMs: number;

  constructor(call: Call, decideAfterMs = 300) {
    this.#call = call;
    this.#decideAfterMs = decideAfterMs;
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#busy) return;
      this.#busy = true;
      void this.#tick()
        .catch(() => undefined)
        .finally(() => (this.#busy = false));
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
  }
}
