/**
 * One triage agent: a durable run that takes its issue from the fleet task board, recalls what
 * the team knows (memory), asks the model for a plan, reproduces the bug in a bubblewrap sandbox
 * (compute), labels the issue (a native tool), records what it learned (memory), asks a person
 * before refunding a payments customer (approval), mails its summary to the team lead over SMTP
 * (identity), and completes the task. Every call is a journaled syscall, metered against the
 * run's own budget (billing), so a restart or a worker's death replays it without repeating it.
 */
import { z } from 'zod';
import { isStrataError } from '../../src/kernel/index.ts';
import { defineWorkflow, type RetryOptions, type WorkflowContext } from '../../src/orchestration/index.ts';
import type { FaultPlan } from './faults.ts';
import { reproduceScript, type Issue } from './issues.ts';
import { integrationTest } from './integration-test.ts';
import { checkStaging } from './staging.ts';
import { submitPatch } from './submit-patch.ts';

/** Syscalls one agent makes when nothing fails, its patch submission included (a refund's approval is not one). */
export const AGENT_CALLS = 20;
export const TEAM_SCOPE = { userId: 'shop' };
export const AGENT_BUDGET = '0.05';
/** Below one model call's worst case (800 output tokens at 15 USD/M): the agent pauses for a raise. */
export const TIGHT_BUDGET = '0.01';

const issueSchema = z.object({
  number: z.number(),
  title: z.string(),
  area: z.enum(['cart', 'checkout', 'payments', 'search', 'shipping']),
  lines: z.array(z.object({ cents: z.number(), qty: z.number() })),
  charged: z.number(),
});
const input = z.object({
  agent: z.number(),
  taskId: z.string(),
  mailbox: z.string(),
  lead: z.string(),
  issue: issueSchema,
  /** The agent's fix to the shop's repository, a patch against main (shop-repo.ts). */
  patch: z.string().optional(),
  /** The staging site's origin (staging.ts). */
  staging: z.string().optional(),
});
const output = z.object({
  issue: z.number(),
  overchargedCents: z.number(),
  sandboxAttempts: z.number(),
  sandboxesLost: z.number(),
  refunded: z.boolean(),
  integrationTest: z.boolean(),
  staging: z.object({ ok: z.boolean(), screenshot: z.string().nullable() }).nullable(),
});

interface Generated {
  text: string;
}
interface Exec {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  exceeded: string[];
}

/** The agent's first command hangs when the fault plan says so; retries run the real script. */
function commandFor(plan: FaultPlan, agent: number, issue: Issue, attempt: number): string {
  const script = `python3 -c '${reproduceScript(issue)}'`;
  if (attempt === 1 && plan.sandboxHangs(agent)) return 'sleep 30'; // past the exec's wall time: killed
  return script;
}

/**
 * Runs the reproduction, up to 3 tries. The sandbox belongs to the process that made it: a run
 * resumed elsewhere after its worker died finds it gone (E_NOT_FOUND) and makes a new one.
 */
async function reproduce(ctx: WorkflowContext, plan: FaultPlan, agent: number, issue: Issue) {
  const create = () => ctx.syscall<{ id: string }>('sandbox.create', { runtimes: ['python3'] });
  let box = await create();
  let lost = 0;
  for (let attempt = 1; ; attempt++) {
    const command = commandFor(plan, agent, issue, attempt);
    let run: Exec;
    try {
      run = await ctx.syscall<Exec>('sandbox.exec', { sandbox: box.id, command, timeoutMs: 4000 });
    } catch (error) {
      if (!isStrataError(error) || error.code !== 'E_NOT_FOUND' || ++lost > 2) throw error;
      box = await create();
      attempt--; // the command did not run: the same try again, in the new sandbox
      continue;
    }
    if (run.exitCode === 0) {
      // Not in a finally: an execution abandoned mid-step must not tear down what replay uses.
      await ctx.syscall('sandbox.destroy', { sandbox: box.id });
      const [total = 0, diff = 0] = run.stdout.trim().split(/\s+/).map(Number);
      return { total, diff, attempts: attempt, lost };
    }
    if (attempt >= 3) throw new Error(`sandbox: reproduction failed 3 times (${run.signal ?? run.exitCode})`);
  }
}

/**
 * The agent's workflow. `model` is a route with a fallback or one provider's model, `retry` the
 * whole-run retries by journal replay (both off in the demo's pass without mechanisms).
 */
export function triageAgent(
  plan: FaultPlan,
  options: { model: string; queue: string; retry?: RetryOptions },
) {
  const { model } = options;
  const spec = {
    name: 'demo.triage',
    version: 1,
    queue: options.queue,
    input,
    output,
    ...(options.retry ? { retry: options.retry } : {}),
  };
  return defineWorkflow(spec, async (ctx, job) => {
    const { agent } = job;
    const limit = plan.tightBudget(agent) ? TIGHT_BUDGET : AGENT_BUDGET;
    await ctx.syscall('billing.budgets.set', { scope: 'run', subject: ctx.runId, period: 'lifetime', limit });
    const claim = await ctx.syscall<{ claimed: boolean }>('fleet.task.claim', { taskId: job.taskId });
    if (!claim.claimed) throw new Error(`task ${job.taskId} is held by another agent`);
    const read = await ctx.syscall<{ structuredContent?: Issue }>('tools.call', {
      tool: 'mcp.tracker.get_issue',
      arguments: { number: job.issue.number },
    });
    const issue = issueSchema.parse(read.structuredContent); // from the tracker, over MCP
    const recalled = await ctx.syscall<{ hits: { memory: { text: string } }[] }>('memory.search', {
      scope: TEAM_SCOPE,
      query: issue.title,
      k: 3,
    });
    await ctx.step('think', () => plan.maybeCrash(agent)); // a crash here: the supervisor restarts us
    const facts = recalled.hits.map((h) => h.memory.text).join(' ');
    const ask = (prompt: string) =>
      ctx.syscall<Generated>('model.generate', {
        model,
        maxTokens: 800,
        messages: [
          { role: 'system', content: `You triage bug reports for a web shop. Known: ${facts}` },
          { role: 'user', content: `Agent ${agent}, issue #${issue.number} "${issue.title}": ${prompt}` },
        ],
      });
    const planned = await ask('plan how to reproduce it.');
    const repro = await reproduce(ctx, plan, agent, issue);
    const integrated = await integrationTest(ctx, issue, repro.total);
    const staging = job.staging ? await checkStaging(ctx, job.staging, issue) : null;
    const severity = issue.area === 'payments' ? 'high' : repro.diff > 0 ? 'medium' : 'low';
    await ctx.syscall('tools.call', {
      tool: 'tracker.label',
      arguments: { issue: issue.number, labels: [issue.area, 'reproduced'], severity },
    });
    await ctx.syscall('memory.add', {
      scope: TEAM_SCOPE,
      infer: false,
      text: `Issue #${issue.number} (${issue.area}): the shop charged ${issue.charged} cents for an order of ${repro.total}, ${repro.diff} cent(s) too much.`,
    });
    let refunded = false;
    if (issue.area === 'payments' && repro.diff > 0) {
      const ok = await ctx.approve({
        question: `Refund ${repro.diff} cent(s) to the customer of issue #${issue.number}?`,
        timeoutMs: 60_000,
        onTimeout: 'reject',
      });
      refunded = ok.approved;
    }
    const summary = await ask(`summarize: overcharged ${repro.diff} cent(s), refunded: ${refunded}.`);
    await ctx.syscall('mail.send', {
      mailbox: job.mailbox,
      to: job.lead,
      subject: `[triage] #${issue.number} ${issue.title}`,
      text: `${planned.text}\n${summary.text}\nSandbox attempts: ${repro.attempts}.`,
    });
    if (job.patch) {
      // Submitted by a child run in the parent process (submit-patch.ts); the queue decides later.
      const submit = await ctx.startChild(submitPatch, { patch: job.patch, author: `triage-${agent}` });
      await submit.result({ timeoutMs: 60_000 });
    }
    await ctx.syscall('fleet.task.complete', { taskId: job.taskId, result: { severity, refunded } });
    return {
      issue: issue.number,
      overchargedCents: repro.diff,
      sandboxAttempts: repro.attempts,
      sandboxesLost: repro.lost,
      refunded,
      integrationTest: integrated,
      staging,
    };
  });
}
