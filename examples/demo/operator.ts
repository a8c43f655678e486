/**
 * What a person does while the fleet runs: the team lead answers approvals, a budget raise at
 * once, and a refund or a payments change after it has waited `decideAfterMs`, as a person would.
 * Interactive, it leaves refunds and payments changes to the person at the dashboard or the CLI
 * and prints what waits for them. A call that fails is tried again on the next tick, as a person
 * clicks again.
 */
import { mergeQuestion } from './submit-patch.ts';
import { AGENT_BUDGET } from './worker-agent.ts';

type Call = <T>(name: string, input: unknown) => Promise<T>;

export interface OperatorFigures {
  budgetRaises: number;
  refundsApproved: number;
  paymentsChangesApproved: number;
}

/** The questions a person answers (the rest are budget raises, answered with a limit). */
const isRefund = (q: string): boolean => q.startsWith('Refund');
const MERGE_PREFIX = mergeQuestion('', 0).split(' ')[0] ?? 'Merge';
const isPaymentsChange = (q: string): boolean => q.startsWith(`${MERGE_PREFIX} `);

interface Pause {
  approvalId: string | null;
  proposedLimit: string;
  budget: { limit: string };
}

interface Approval {
  id: string;
  question: string;
  createdAt: number;
}

export class Operator {
  readonly figures: OperatorFigures = { budgetRaises: 0, refundsApproved: 0, paymentsChangesApproved: 0 };
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  readonly #told = new Set<string>();

  readonly #call: Call;
  readonly #decideAfterMs: number;
  readonly #interactive: boolean;
  readonly #url: string;

  /** `url`: the server the CLI command printed for the person should talk to. */
  constructor(call: Call, options: { decideAfterMs?: number; interactive?: boolean; url?: string } = {}) {
    this.#call = call;
    this.#decideAfterMs = options.decideAfterMs ?? 300;
    this.#interactive = options.interactive ?? false;
    this.#url = options.url ? ` --url ${options.url}` : '';
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
    const { pauses } = await this.#call<{ pauses: Pause[] }>('runs.budget_pauses.list', {});
    const raises = new Map(pauses.flatMap((p) => (p.approvalId ? [[p.approvalId, p] as const] : [])));
    for (const [id, pause] of raises) {
      // One agent's budget more, or what Strata proposes if that is more: never below the limit now.
      const raised = Math.max(Number(pause.budget.limit) + Number(AGENT_BUDGET), Number(pause.proposedLimit));
      await this.#call('approvals.decide', { id, decision: 'approve', value: { limit: raised.toFixed(2) } });
      this.figures.budgetRaises++;
    }
    const { approvals } = await this.#call<{ approvals: Approval[] }>('approvals.list', {});
    for (const a of approvals) {
      // Budget raises are answered above with the limit; the rest wait for the person a moment.
      const refund = isRefund(a.question);
      if (!refund && !isPaymentsChange(a.question)) continue;
      if (this.#interactive) {
        if (!this.#told.has(a.id))
          console.log(`  waiting for you: ${a.question}  (strata approvals approve ${a.id}${this.#url})`);
        this.#told.add(a.id);
        continue;
      }
      if (Date.now() - a.createdAt < this.#decideAfterMs) continue;
      const reason = refund ? 'refund is right' : 'payments change reviewed';
      await this.#call('approvals.decide', { id: a.id, decision: 'approve', reason });
      if (refund) this.figures.refundsApproved++;
      else this.figures.paymentsChangesApproved++;
    }
  }
}
