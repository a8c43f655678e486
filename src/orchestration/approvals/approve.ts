/**
 * @module orchestration/approvals/approve
 * `ctx.approve(...)`: a durable promise. Each part is a journaled operation of the run, so replay
 * after a crash or a restart never re-runs what came before and never asks twice:
 * 1. `approvals.request` (a syscall keyed `<runId>:<seq>`) stores the approval;
 * 2. with a `mailbox`, `mail.send` mails the question to the `mail:` approvers;
 * 3. `ctx.waitFor('approval:<id>')` suspends the run, holding no worker, until the decision's
 *    signal (written in the decision's transaction) or the timeout;
 * 4. on timeout, `approvals.timeout` applies `onTimeout` — unless a person decided first.
 * A rejection is returned (`approved: false`), not thrown: the workflow decides what follows.
 *
 * @example
 * const ok = await ctx.approve({ question: 'Deploy v42 to production?', approvers: ['role:release'],
 *   timeoutMs: 3_600_000, onTimeout: 'escalate' });
 * if (ok.approved) await ctx.step('deploy', () => deploy('v42'));
 */
import { z } from 'zod';
import { isStrataError } from '../../kernel/index.ts';
import type { WorkflowContext } from '../context.ts';
import { approvalSignal, approvalSubject, type Approval, type OnTimeout } from './approval-row.ts';
import { mailApprovers } from './approvers.ts';

export interface ApproveOptions<TValue = unknown> {
  readonly question: string;
  /** What an approver must send with "approve": a zod schema or a JSON Schema object. */
  readonly schema?: z.ZodType<TValue> | Record<string, unknown>;
  /** See approvers.ts: principal ids, `agent:<name>`, `role:<x>`, `mail:<address>`. @default anyone allowed */
  readonly approvers?: readonly string[];
  /** @default no deadline */
  readonly timeoutMs?: number;
  /** @default 'reject' */
  readonly onTimeout?: OnTimeout;
  /** Mail the question from this mailbox to the `mail:` approvers; a reply decides it. */
  readonly mailbox?: string;
}

export interface ApprovalDecision<TValue = unknown> {
  readonly id: string;
  readonly approved: boolean;
  readonly value: TValue | undefined;
  readonly decidedBy: string;
  readonly via: 'api' | 'mail' | 'timeout';
  readonly reason: string | null;
  readonly signature: string;
  readonly signedWith: string;
}

const isZod = (schema: unknown): schema is z.ZodType => schema instanceof z.ZodType;

const decisionOf = <TValue>(approval: Approval): ApprovalDecision<TValue> => ({
  id: approval.id,
  approved: approval.status === 'approved',
  value: approval.value as TValue | undefined,
  decidedBy: approval.decidedBy ?? '',
  via: approval.decidedVia ?? 'api',
  reason: approval.reason,
  signature: approval.signature ?? '',
  signedWith: approval.signedWith ?? '',
});

function requestText(approval: Approval): string {
  return [
    approval.question,
    '',
    'Reply with "approve" or "reject" as the first word of your answer (anything after it is kept',
    'as the reason). Only replies from an approver whose domain passes DMARC are counted.',
    '',
    `Approval ${approval.id}, run ${approval.runId} (${approval.workflow}).`,
  ].join('\n');
}

export async function approve<TValue = unknown>(
  ctx: WorkflowContext,
  options: ApproveOptions<TValue>,
): Promise<ApprovalDecision<TValue>> {
  const schema =
    options.schema === undefined
      ? undefined
      : isZod(options.schema)
        ? z.toJSONSchema(options.schema)
        : options.schema;
  const approval = await ctx.syscall<Approval>('approvals.request', {
    question: options.question,
    ...(schema === undefined ? {} : { schema }),
    approvers: options.approvers ?? [],
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    onTimeout: options.onTimeout ?? 'reject',
    ...(options.mailbox === undefined ? {} : { mailbox: options.mailbox }),
  });
  if (approval.status !== 'pending') return decisionOf(approval);
  const to = mailApprovers(approval.approvers);
  if (options.mailbox !== undefined && to.length > 0) {
    await ctx.syscall('mail.send', {
      mailbox: options.mailbox,
      to,
      subject: approvalSubject(approval.id, approval.question),
      text: requestText(approval),
    });
  }
  let timeoutMs = options.timeoutMs;
  for (;;) {
    try {
      const decided = await ctx.waitFor<Approval>(
        approvalSignal(approval.id),
        timeoutMs === undefined ? {} : { timeoutMs },
      );
      return decisionOf(decided);
    } catch (error) {
      if (!isStrataError(error) || error.code !== 'E_WAIT_TIMEOUT') throw error;
    }
    const after = await ctx.syscall<Approval>('approvals.timeout', { id: approval.id });
    if (after.status !== 'pending') return decisionOf(after);
    timeoutMs = undefined; // escalated: wait for a person, without a deadline
  }
}
