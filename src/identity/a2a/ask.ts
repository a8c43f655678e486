/**
 * @module identity/a2a/ask
 * The contract between an A2A task and the durable run that serves it (see server/a2a-runs.ts):
 * the run's input is the caller's first message, its output the answer; `askCaller(ctx, question)`
 * puts the task in TASK_STATE_INPUT_REQUIRED with the question and waits durably (a waiting step,
 * no process held) for the caller's next message on the same task, whose text it returns.
 */
import { z } from 'zod';

/** The input of a workflow serving A2A tasks. */
export const a2aTaskInput = z.object({
  agent: z.string(),
  taskId: z.string(),
  contextId: z.string(),
  text: z.string(),
});

/** Its output: the answer (`completed` by default), or a refusal. */
export const a2aTaskOutput = z.object({
  state: z.enum(['completed', 'failed', 'rejected']).default('completed'),
  text: z.string(),
  data: z.unknown().optional(),
});

export type A2aTaskInput = z.infer<typeof a2aTaskInput>;
export type A2aTaskOutput = z.input<typeof a2aTaskOutput>;

/** The journaled step holding a question, and the signal carrying the caller's answer. */
export const A2A_ASK_STEP = 'a2a.ask';
export const A2A_INPUT_SIGNAL = 'a2a:input';

/** What `askCaller` needs of a workflow context (any `WorkflowContext` has it). */
export interface AskingContext {
  step<T>(name: string, fn: () => Promise<T> | T): Promise<T>;
  waitFor<T = unknown>(signal: string, options?: { timeoutMs?: number }): Promise<T>;
}

export async function askCaller(
  ctx: AskingContext,
  question: string,
  options: { timeoutMs?: number } = {},
): Promise<string> {
  await ctx.step(A2A_ASK_STEP, () => question);
  const answer = await ctx.waitFor<{ text: string }>(A2A_INPUT_SIGNAL, options);
  return answer.text;
}
