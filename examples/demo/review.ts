/**
 * Code review over A2A. Each squad has a reviewer agent with its own identity, served by the
 * demo's server at `/a2a/<reviewer>` (its card signed by its own key); a worker asks it with
 * `a2a.call`, verifying the card's signature, authenticated by a key from the vault that may only
 * message reviewers and call the model. Each review is a durable run of `demo.review` (the
 * server's A2A endpoint starts it as the caller): it checks that the patch comes with a test for
 * its issue and keeps money in integer cents, and asks the model for a one-line comment.
 */
import { z } from 'zod';
import { a2aTaskInput, a2aTaskOutput } from '../../src/identity/index.ts';
import { defineWorkflow, type RetryOptions, type WorkflowContext } from '../../src/orchestration/index.ts';

export const REVIEW_CREDENTIAL = 'reviewers';
const request = z.object({ issue: z.number(), patch: z.string() });
const verdict = z.object({ approved: z.boolean(), reviewer: z.string(), verdict: z.string() });
export type Review = z.infer<typeof verdict>;

/** What the reviewer finds wrong with a patch, if anything. */
function findings(issue: number, patch: string): string[] {
  const found: string[] = [];
  if (!patch.includes(`test/issue-${issue}.test.js`)) found.push(`no test for #${issue}`);
  if (/^\+.*\d\.\d/m.test(patch)) found.push('money as a float');
  return found;
}

/**
 * The reviewer agents' workflow (config `a2a.workflows` binds each reviewer to it), retried by
 * replay like the workers when mechanisms are on.
 */
export function reviewWorkflow(model: string, retry?: RetryOptions) {
  const spec = {
    name: 'demo.review',
    version: 1,
    queue: 'default',
    input: a2aTaskInput,
    output: a2aTaskOutput,
  };
  return defineWorkflow({ ...spec, ...(retry ? { retry } : {}) }, async (ctx, task) => {
    const asked = request.parse(JSON.parse(task.text));
    const problems = findings(asked.issue, asked.patch);
    const comment = await ctx.syscall<{ text: string }>('model.generate', {
      model,
      maxTokens: 200,
      messages: [
        { role: 'system', content: 'You review patches to a web shop. Answer in one line.' },
        {
          role: 'user',
          content: `Review the fix for #${asked.issue}: ${problems.join(', ') || 'looks right'}`,
        },
      ],
    });
    const review: Review = {
      approved: problems.length === 0,
      reviewer: task.agent,
      verdict: problems.length ? `changes requested: ${problems.join(', ')}` : `approved (${comment.text})`,
    };
    return { state: 'completed' as const, text: JSON.stringify(review), data: review };
  });
}

/**
 * Asks the squad's reviewer over A2A. A task that failed (its run gave up) is asked again as a
 * new task a little later, up to `attempts` times: the failed answer is journaled, so a replay of
 * this run must ask anew rather than re-read it.
 */
export async function askReview(
  ctx: WorkflowContext,
  ask: { url: string; issue: number; patch: string; attempts?: number },
): Promise<Review> {
  const { url, issue, patch, attempts = 5 } = ask;
  for (let attempt = 1; ; attempt++) {
    const answer = await ctx.syscall<{ state: string; text?: string }>('a2a.call', {
      url,
      text: JSON.stringify({ issue, patch }),
      credential: REVIEW_CREDENTIAL,
      trust: 'signed',
    });
    if (answer.state === 'TASK_STATE_COMPLETED') return verdict.parse(JSON.parse(answer.text ?? ''));
    if (attempt >= attempts) throw new Error(`review of #${issue}: the reviewer's task ${answer.state}`);
    await ctx.sleep(500 * attempt);
  }
}
