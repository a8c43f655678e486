/**
 * A squad worker: a durable run that reads its assignment from its own inbox (the lead mailed it
 * the issues and their tasks over SMTP), sets its budget for them, and fixes them one by one
 * (fix-issue.ts). One worker, picked by the seed, plans its first issue with an agent loop that
 * never stops asking for the same tool: `maxTurns` ends it (E_AGENT_MAX_TURNS), and the worker
 * raises an escalation, hands the task back, marks the issue escalated and goes on.
 */
import { z } from 'zod';
import { waitForMail } from '../../src/identity/index.ts';
import { isStrataError } from '../../src/kernel/index.ts';
import {
  defineAgentLoop,
  defineWorkflow,
  type RetryOptions,
  type WorkflowContext,
} from '../../src/orchestration/index.ts';
import type { FaultPlan } from './faults.ts';
import { fixIssue, updateIssue, type Assignment, type WorkerContext } from './fix-issue.ts';
import { readFix } from './shop-repo.ts';

export const AGENT_BUDGET = '0.05';
/** Below one model call's worst case (800 output tokens at 15 USD/M): the worker pauses for a raise. */
export const TIGHT_BUDGET = '0.01';
/** Syscalls one issue takes when nothing fails, its review, sandbox tests and patch submission included. */
export const CALLS_PER_ISSUE = 25;
export const PLANNER_MAX_TURNS = 4;
export const ASSIGNMENT_SUBJECT = 'assignment';

const input = z.object({
  worker: z.number(),
  squad: z.number(),
  mailbox: z.string(),
  lead: z.string(),
  reviewerUrl: z.string(),
  staging: z.string(),
  dataDir: z.string(),
});
const workerTests = z.object({
  passed: z.boolean(),
  files: z.array(z.string()),
  pass: z.number(),
  fail: z.number(),
  tail: z.string().nullable(),
});
const fixed = z.object({
  issue: z.number(),
  workerTests,
  overchargedCents: z.number(),
  sandboxAttempts: z.number(),
  sandboxesLost: z.number(),
  refunded: z.boolean(),
  integrationTest: z.boolean(),
  staging: z.object({ ok: z.boolean(), screenshot: z.string().nullable() }).nullable(),
  reviewed: z.boolean(),
  paymentsApproval: z.boolean(),
});
const output = z.object({
  fixed: z.array(fixed),
  escalated: z.array(z.number()),
  /** Issues whose fix failed its tests in the worker's sandbox: not submitted, handed back. */
  testsFailed: z.array(z.object({ issue: z.number(), workerTests })),
});

/** The lead's assignment mail lists one `#<issue> task <id> index <n>` line per issue. */
export const assignmentText = (items: readonly Assignment[]): string =>
  items.map((a) => `#${a.issue} task ${a.taskId} index ${a.index}`).join('\n');
export const parseAssignment = (text: string): Assignment[] =>
  [...text.matchAll(/^#(\d+) task (\S+) index (\d+)$/gm)].map((m) => ({
    issue: Number(m[1]),
    taskId: m[2] ?? '',
    index: Number(m[3]),
  }));

/**
 * The planner that loops: asks for the issue again and again (the scripted model, demo-runtime.ts).
 * It has no run retries of its own: a planner that failed is replaced by the worker (below).
 */
export const plannerAgent = (model: string) =>
  defineAgentLoop({
    name: 'demo.planner',
    version: 1,
    queue: 'default',
    instructions: 'You plan fixes for the shop. Look the issue up before you plan.',
    model,
    tools: ['mcp.tracker.get_issue'],
    maxTurns: PLANNER_MAX_TURNS,
    maxTokens: 200,
  });

/** The code a failed child run ended with: the join's error carries the child's own (data.error). */
const childCode = (error: unknown): string | undefined =>
  isStrataError(error) ? (error.data as { error?: { code?: string } } | undefined)?.error?.code : undefined;

/**
 * Plans with the agent loop; true when `maxTurns` stopped it. A planner run that failed for
 * another reason (an injected fault) is replaced by a new run a little later, when the worker has
 * retries at all. (The join's suspension passes through the catch: only StrataErrors are looked at.)
 */
async function plannerLooped(
  ctx: WorkflowContext,
  planner: ReturnType<typeof plannerAgent>,
  issue: number,
  options: { retries: boolean },
) {
  for (let attempt = 1; ; attempt++) {
    const child = await ctx.startChild(planner, { prompt: `Plan the fix for issue #${issue}.` });
    try {
      await child.result({ timeoutMs: 5 * 60_000 });
      return false;
    } catch (error) {
      if (!isStrataError(error)) throw error;
      if (childCode(error) === 'E_AGENT_MAX_TURNS') return true;
      if (attempt >= 8 || !options.retries) throw error;
    }
    await ctx.sleep(500 * attempt);
  }
}

export function workerAgent(
  plan: FaultPlan,
  options: { model: string; queue: string; retry?: RetryOptions },
) {
  const { model } = options;
  const planner = plannerAgent(model);
  const spec = {
    name: 'demo.worker',
    version: 1,
    queue: options.queue,
    input,
    output,
    ...(options.retry ? { retry: options.retry } : {}),
  };
  const workflow = defineWorkflow(spec, async (ctx, job) => {
    const mail = await waitForMail(ctx, {
      mailbox: job.mailbox,
      from: job.lead,
      subject: ASSIGNMENT_SUBJECT,
      since: 0, // the lead mailed it before the run started
      timeoutMs: 5 * 60_000,
    });
    const assignments = parseAssignment(mail.text);
    const each = plan.tightBudget(job.worker) ? TIGHT_BUDGET : AGENT_BUDGET;
    const limit = (Number(each) * Math.max(1, assignments.length)).toFixed(2);
    await ctx.syscall('billing.budgets.set', { scope: 'run', subject: ctx.runId, period: 'lifetime', limit });
    const w: WorkerContext = { ...job, model, plan, reviewerUrl: job.reviewerUrl };
    const result: z.infer<typeof output> = { fixed: [], escalated: [], testsFailed: [] };
    for (const [n, assignment] of assignments.entries()) {
      if (
        n === 0 &&
        plan.loops(job.worker) &&
        (await plannerLooped(ctx, planner, assignment.issue, { retries: options.retry !== undefined }))
      ) {
        await escalateLoop(ctx, job.worker, assignment);
        result.escalated.push(assignment.issue);
        continue;
      }
      const patch = await ctx.step(`write fix #${assignment.issue}`, () =>
        readFix(job.dataDir, assignment.issue),
      );
      const outcome = await fixIssue(ctx, w, assignment, patch);
      if (outcome.submitted) result.fixed.push(outcome);
      else result.testsFailed.push(outcome);
    }
    return result;
  });
  return { workflow, planner };
}

/** The looping worker's way out: a P2 escalation, its task handed back, the issue marked. */
async function escalateLoop(ctx: WorkflowContext, worker: number, a: Assignment): Promise<void> {
  await ctx.syscall('fleet.task.claim', { taskId: a.taskId });
  await ctx.syscall('escalations.raise', {
    key: `loop:worker-${worker}:${a.issue}`,
    severity: 'P2',
    title: `worker-${worker} looped planning #${a.issue}: stopped after ${PLANNER_MAX_TURNS} model calls`,
    detail: 'The planner kept asking for the same tool; maxTurns ended it. A person should take the issue.',
    source: 'demo',
  });
  await updateIssue(ctx, {
    number: a.issue,
    status: 'escalated',
    comment: `worker-${worker} looped; escalated to a person`,
  });
  await ctx.syscall('fleet.task.release', { taskId: a.taskId });
}
