/**
 * How a worker's fix reaches the shop's merge queue: a child run of the worker's run that calls
 * `mq.submit` with the patch. A change under `src/payments/` waits first for a person's approval
 * (a durable approval: the run holds no process while it waits; the operator answers in the
 * dashboard, with `strata approvals decide`, or the demo answers after a delay). It runs on the
 * `default` queue, which only the demo's parent process serves, so the merge queue's worker
 * (opened by the process that submits) stays in the process that is not killed. A patch that no
 * longer applies to main (another change touched the same line first) is refused by the queue at
 * submit, naming the files: a conflict to rework, not a failure.
 */
import { z } from 'zod';
import { isStrataError } from '../../src/kernel/index.ts';
import { defineWorkflow } from '../../src/orchestration/index.ts';

export const SHOP_QUEUE = 'shop';
export const PAYMENTS_PATH = 'src/payments/';
/** How long a payments change waits for its approval before it is declined. */
export const PAYMENTS_APPROVAL_MS = 10 * 60_000;

const input = z.object({ patch: z.string(), author: z.string(), issue: z.number() });
const output = z.object({
  entry: z.string().nullable(),
  conflict: z.string().nullable(),
  /** Whether a person approved the change first (payments changes only). */
  approval: z.boolean(),
  declined: z.boolean(),
});

export const mergeQuestion = (author: string, issue: number): string =>
  `Merge ${author}'s change to ${PAYMENTS_PATH} for issue #${issue}?`;

export const submitPatch = defineWorkflow(
  { name: 'demo.submit_patch', version: 1, queue: 'default', input, output },
  async (ctx, job) => {
    const payments = job.patch.includes(`b/${PAYMENTS_PATH}`);
    if (payments) {
      const decision = await ctx.approve({
        question: mergeQuestion(job.author, job.issue),
        timeoutMs: PAYMENTS_APPROVAL_MS,
        onTimeout: 'reject',
      });
      if (!decision.approved) return { entry: null, conflict: null, approval: false, declined: true };
    }
    try {
      const entry = await ctx.syscall<{ id: string }>('mq.submit', {
        queue: SHOP_QUEUE,
        patch: job.patch,
        author: job.author,
      });
      return { entry: entry.id, conflict: null, approval: payments, declined: false };
    } catch (error) {
      if (!isStrataError(error) || error.code !== 'E_PATCH_REJECTED') throw error;
      return { entry: null, conflict: error.message, approval: payments, declined: false };
    }
  },
);
