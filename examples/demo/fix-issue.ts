/**
 * What a worker does for one issue of its assignment, every call a journaled syscall metered
 * against the worker's budget, so a restart or a worker's death replays it without repeating it:
 * claims the task, reads the issue from the tracker (MCP), recalls the team's conventions
 * (memory), plans (model), reproduces the bug in a bubblewrap sandbox (compute), clones the shop
 * there, applies its patch and runs the patch's tests (issue-sandbox.ts: a fix whose tests fail is
 * not submitted; the issue goes back to open and the task back to the board), runs an integration
 * test on a scratch database it provisions and destroys, checks staging in a browser session,
 * records what it learned (memory), asks a person before refunding a payments customer, asks its
 * squad's reviewer over A2A, submits its fix to the merge queue, mails the lead over SMTP, moves the
 * issue to done on the tracker, and completes the task.
 */
import type { WorkflowContext } from '../../src/orchestration/index.ts';
import type { FaultPlan } from './faults.ts';
import { integrationTest } from './integration-test.ts';
import { IssueSandbox, reproduce, testPatch, type WorkerTests } from './issue-sandbox.ts';
import { issueSchema, type Issue, type IssueStatus } from './issues.ts';
import { askReview } from './review.ts';
import { checkStaging } from './staging.ts';
import { submitPatch } from './submit-patch.ts';

export const TEAM_SCOPE = { userId: 'shop' };

/** One assigned issue, as the lead's assignment mail names it. */
export interface Assignment {
  readonly issue: number;
  readonly taskId: string;
  /** Its index among the seeded issues (what the fault plan and the shop's patches are keyed by). */
  readonly index: number;
}

export interface WorkerContext {
  readonly worker: number;
  readonly mailbox: string;
  readonly lead: string;
  readonly reviewerUrl: string;
  readonly staging: string;
  readonly model: string;
  readonly plan: FaultPlan;
  /** Where the shop's repository is (the worker clones it into its sandbox). */
  readonly dataDir: string;
}

interface Generated {
  text: string;
}

/** Moves the issue on the tracker (MCP, idempotent: a retried update comments once). */
export const updateIssue = (
  ctx: WorkflowContext,
  update: { number: number; status: IssueStatus; comment: string; labels?: string[] },
) =>
  ctx.syscall('tools.call', {
    tool: 'mcp.tracker.update_issue',
    arguments: { labels: [], ...update },
  });

/** Reads the issue from the tracker, over MCP. */
export async function readIssue(ctx: WorkflowContext, number: number): Promise<Issue> {
  const read = await ctx.syscall<{ structuredContent?: unknown }>('tools.call', {
    tool: 'mcp.tracker.get_issue',
    arguments: { number },
  });
  return issueSchema.parse(read.structuredContent);
}

export async function fixIssue(ctx: WorkflowContext, w: WorkerContext, job: Assignment, patch: string) {
  const { worker, plan, model } = w;
  const claim = await ctx.syscall<{ claimed: boolean }>('fleet.task.claim', { taskId: job.taskId });
  if (!claim.claimed) throw new Error(`task ${job.taskId} is held by another agent`);
  const issue = await readIssue(ctx, job.issue);
  await updateIssue(ctx, {
    number: issue.number,
    status: 'in_progress',
    comment: `worker-${worker} is on it`,
  });
  const recalled = await ctx.syscall<{ hits: { memory: { text: string } }[] }>('memory.search', {
    scope: TEAM_SCOPE,
    query: issue.title,
    k: 3,
  });
  await ctx.step(`think #${issue.number}`, () => plan.maybeCrash(worker)); // the supervisor restarts us
  const facts = recalled.hits.map((h) => h.memory.text).join(' ');
  const ask = (prompt: string) =>
    ctx.syscall<Generated>('model.generate', {
      model,
      maxTokens: 800,
      messages: [
        { role: 'system', content: `You fix bugs in a web shop. Known: ${facts}` },
        { role: 'user', content: `Worker ${worker}, issue #${issue.number} "${issue.title}": ${prompt}` },
      ],
    });
  const planned = await ask('plan how to reproduce it.');
  const box = new IssueSandbox(ctx);
  const repro = await reproduce(box, plan, job.index, issue);
  const workerTests = await testPatch(box, { patch, dataDir: w.dataDir });
  await box.destroy();
  if (!workerTests.passed) return handBack(ctx, worker, job, workerTests);
  const integrated = await integrationTest(ctx, issue, repro.total);
  const staging = await checkStaging(ctx, w.staging, issue);
  const severity = issue.area === 'payments' ? 'high' : repro.diff > 0 ? 'medium' : 'low';
  await ctx.syscall('memory.add', {
    scope: TEAM_SCOPE,
    infer: false,
    text: `Issue #${issue.number} (${issue.area}): the shop charged ${issue.charged} cents for an order of ${repro.total}, ${repro.diff} cent(s) too much.`,
  });
  let refunded = false;
  if (issue.area === 'payments' && repro.diff > 0) {
    const ok = await ctx.approve({
      question: `Refund ${repro.diff} cent(s) to the customer of issue #${issue.number}?`,
      timeoutMs: 10 * 60_000,
      onTimeout: 'reject',
    });
    refunded = ok.approved;
  }
  const review = await askReview(ctx, { url: w.reviewerUrl, issue: issue.number, patch });
  await updateIssue(ctx, {
    number: issue.number,
    status: 'in_review',
    comment: `reviewed by ${review.reviewer}: ${review.verdict}`,
    labels: [issue.area, severity],
  });
  // Submitted by a child run in the parent process (submit-patch.ts); the queue decides later.
  const submit = await ctx.startChild(submitPatch, {
    patch,
    author: `worker-${worker}`,
    issue: issue.number,
  });
  const submitted = await submit.result({ timeoutMs: 15 * 60_000 });
  const summary = await ask(`summarize: overcharged ${repro.diff} cent(s), refunded: ${refunded}.`);
  await ctx.syscall('mail.send', {
    mailbox: w.mailbox,
    to: w.lead,
    subject: `[fix] #${issue.number} ${issue.title}`,
    text: `${planned.text}\n${summary.text}\nSandbox attempts: ${repro.attempts}. Review: ${review.verdict}.`,
  });
  await updateIssue(ctx, {
    number: issue.number,
    status: 'done',
    comment: `fix submitted to the merge queue (${submitted.entry ?? 'not queued'})`,
  });
  await ctx.syscall('fleet.task.complete', { taskId: job.taskId, result: { severity, refunded } });
  return {
    submitted: true as const,
    issue: issue.number,
    overchargedCents: repro.diff,
    sandboxAttempts: repro.attempts,
    sandboxesLost: box.lost,
    workerTests,
    refunded,
    integrationTest: integrated,
    staging,
    reviewed: review.approved,
    paymentsApproval: submitted.approval,
  };
}

/** Its tests failed in its sandbox: the fix is not submitted; the issue reopens, the task goes back. */
async function handBack(ctx: WorkflowContext, worker: number, job: Assignment, tests: WorkerTests) {
  await updateIssue(ctx, {
    number: job.issue,
    status: 'open',
    comment: `worker-${worker}: the fix's tests failed in its sandbox, not submitted. ${tests.tail ?? ''}`,
  });
  await ctx.syscall('fleet.task.release', { taskId: job.taskId });
  return { submitted: false as const, issue: job.issue, workerTests: tests };
}
