/**
 * @module mergequeue/rework-workflow
 * The durable run that hands a change sent to rework back to its author (`mergequeue.rework`).
 * Its journaled steps: read the entry (tenant from the run itself, facts from the queue's store,
 * never from the input), put a task on the fleet task board holding queue, entry, branch, reason
 * and conflicting files, then either start the author agent's own run on it or notify the person.
 *
 * Who is an agent: an author that is the id or name of one of the tenant's agent principals, or
 * names (bare or as `agent:<name>`) a workflow registered on the engine. Anyone else is a person.
 * An agent whose name is a registered workflow gets a run of it, keyed by the entry, with a prompt
 * (agent loops take `{ prompt }`) or else the rework itself as input, and grants scoped to its task
 * and queue; other agents claim the task from the board (`fleet.task.list`/`claim`).
 */
import { z } from 'zod';
import { isStrataError, StrataError, type Grant, type Principal } from '../kernel/index.ts';
import { defineWorkflow, type Engine } from '../orchestration/index.ts';
import { TaskBoard } from '../orchestration/tasks/index.ts';
import type { QueueStore } from './store.ts';

export const REWORK_WORKFLOW = 'mergequeue.rework';
/** The principal rework runs are started as; a run started by anyone else is refused. */
export const REWORK_PRINCIPAL_ID = 'system:mergequeue';
/** Keys the run, its task and the agent's run: one of each per entry, however often it is asked. */
export const reworkKey = (entry: string): string => `${REWORK_WORKFLOW}:${entry}`;

/** What the author is handed; the task's payload. */
export interface Rework {
  readonly kind: 'mergequeue.rework';
  readonly queue: string;
  readonly entry: string;
  readonly author: string;
  readonly authorKind: 'agent' | 'person';
  readonly branch: string;
  readonly headCommit: string;
  readonly reason: string;
  readonly files: readonly string[];
}

export interface ReworkNotice extends Rework {
  readonly tenantId: string;
  readonly taskId: string;
}

/** Tells a person their change needs rework; throws when it cannot (the run records why). */
export type ReworkNotifier = (notice: ReworkNotice) => Promise<void>;

export interface ReworkDeps {
  readonly engine: Engine;
  readonly rows: QueueStore;
  /** The tenant's agent principals (authors naming one are agents). @default none */
  readonly agents?: (tenantId: string) => Promise<readonly { id: string; name: string }[]>;
  readonly notifier: () => ReworkNotifier | undefined;
}

const output = z.object({
  entry: z.string(),
  taskId: z.string().nullable(),
  authorKind: z.enum(['agent', 'person']).nullable(),
  agentRun: z.string().nullable(),
  notified: z.boolean(),
  /** Why no run was started, no one notified, or nothing done. */
  note: z.string().nullable(),
});
export type ReworkOutcome = z.infer<typeof output>;

type Author = { kind: 'agent' | 'person'; id: string; workflow: string | null };
type Loaded = { tenantId: string; rework: Rework; agent: Author };

/** Mail errors that another attempt may fix (the relay was down). */
const RETRYABLE_NOTICE = new Set(['E_MAIL_SEND_FAILED', 'E_UNAVAILABLE']);

export function reworkWorkflow(deps: ReworkDeps) {
  const board = new TaskBoard(deps.engine);
  return defineWorkflow(
    {
      name: REWORK_WORKFLOW,
      version: 1,
      input: z.object({ entry: z.string().min(1).max(100) }).strict(),
      output,
      retry: { attempts: 3, baseDelayMs: 500 }, // a store hiccup; the steps are keyed
    },
    async (ctx, input): Promise<ReworkOutcome> => {
      const done = { entry: input.entry, agentRun: null, notified: false };
      const loaded = await ctx.step('read-entry', () => load(deps, ctx.runId, input.entry));
      if ('skipped' in loaded) return { ...done, taskId: null, authorKind: null, note: loaded.skipped };
      const { tenantId, rework, agent } = loaded;
      const task = await ctx.step('create-task', async () => {
        const title = `Rework ${rework.branch} for merge queue ${rework.queue}: ${rework.reason}`;
        const created = await board.create(tenantId, {
          key: reworkKey(rework.entry),
          title: title.slice(0, 500),
          payload: rework,
        });
        return created.id;
      });
      const base = { ...done, taskId: task, authorKind: rework.authorKind };
      if (agent.kind === 'agent') {
        const workflow = agent.workflow;
        if (workflow === null)
          return { ...base, note: 'no workflow of that agent is registered; it claims the task' };
        const at = { tenantId, taskId: task, rework, agent: agent.id };
        const started = await ctx.step('start-agent-run', () => startAgentRun(deps.engine, at, workflow));
        return { ...base, agentRun: started.runId, note: started.note };
      }
      const notice: ReworkNotice = { ...rework, tenantId, taskId: task };
      const sent = await ctx.step('notify-author', ({ attempt }) => notify(deps, notice, attempt), {
        retry: { attempts: 3, baseDelayMs: 2000 },
      });
      return { ...base, notified: sent.notified, note: sent.note };
    },
  );
}

async function load(deps: ReworkDeps, runId: string, entryId: string): Promise<Loaded | { skipped: string }> {
  const run = await deps.engine.store.get<{ tenant_id: string; principal: string }>(
    'SELECT tenant_id, principal FROM orch_runs WHERE id = ?',
    [runId],
  );
  const starter = run ? (JSON.parse(run.principal) as Principal) : undefined;
  if (!run || starter?.id !== REWORK_PRINCIPAL_ID) {
    throw new StrataError(
      'E_CAPABILITY_DENIED',
      `${REWORK_WORKFLOW} runs are started by the merge queue only, not by ${starter?.id ?? 'nobody'}`,
    );
  }
  const tenantId = run.tenant_id;
  const entry = await deps.rows.entry(tenantId, entryId);
  if (entry.state !== 'needs_rework') return { skipped: `entry ${entryId} is ${entry.state}` };
  const agent = await authorOf(deps, tenantId, entry.author);
  const rework: Rework = {
    kind: 'mergequeue.rework',
    queue: entry.queue,
    entry: entry.id,
    author: entry.author,
    authorKind: agent.kind,
    branch: entry.branch,
    headCommit: entry.headCommit,
    reason: entry.reason,
    files: entry.conflictFiles ?? [],
  };
  return { tenantId, rework, agent };
}

async function authorOf(deps: ReworkDeps, tenantId: string, author: string): Promise<Author> {
  const registered = (name: string): string | null =>
    deps.engine.workflows.keys().some((k) => k.startsWith(`${name}:`)) ? name : null;
  const principal = (await deps.agents?.(tenantId))?.find((a) => a.id === author || a.name === author);
  if (principal) return { kind: 'agent', id: principal.id, workflow: registered(principal.name) };
  const name = author.startsWith('agent:') ? author.slice('agent:'.length) : author;
  const workflow = registered(name);
  return workflow === null
    ? { kind: 'person', id: author, workflow }
    : { kind: 'agent', id: author, workflow };
}

/**
 * Starts the agent's run on its rework, as the agent, allowed only its task and its queue. The
 * key makes a replayed step (the worker died before journaling it) find the same run.
 */
async function startAgentRun(
  engine: Engine,
  at: { tenantId: string; taskId: string; rework: Rework; agent: string },
  workflow: string,
): Promise<{ runId: string | null; note: string | null }> {
  const { tenantId, taskId, rework } = at;
  const def = engine.workflows.get(workflow);
  const prompt = {
    prompt: [
      `Your change ${rework.branch} (${rework.headCommit.slice(0, 12)}) was sent back by merge queue ${rework.queue}: ${rework.reason}.`,
      rework.files.length > 0 ? `Conflicting files: ${rework.files.join(', ')}.` : '',
      // A patch entry's branch is `patch:<hash>`, not a ref the author can rebase.
      rework.branch.startsWith('patch:')
        ? `Claim task ${taskId} (fleet.task.claim), make a new patch against the queue's target, submit it (mq.submit with patch), then complete the task.`
        : `Claim task ${taskId} (fleet.task.claim), rebase the branch on the queue's target, resubmit it (mq.submit), then complete the task.`,
    ]
      .filter(Boolean)
      .join('\n'),
  };
  const withTask = { ...rework, taskId };
  const input = [prompt, withTask].find((candidate) => def.input.safeParse(candidate).success);
  if (input === undefined)
    return {
      runId: null,
      note: `workflow ${workflow} takes neither { prompt } nor the rework; it claims the task`,
    };
  const grants: Grant[] = [
    ...['get', 'claim', 'release', 'complete'].map((a) => ({
      syscall: `fleet.task.${a}`,
      resource: `tasks/${taskId}`,
    })),
    ...['show', 'submit'].map((a) => ({ syscall: `mq.${a}`, resource: `mq/${rework.queue}` })),
  ];
  const run = await engine.start(workflow, input, {
    principal: { tenantId, id: at.agent, kind: 'agent', grants },
    idempotencyKey: `${reworkKey(rework.entry)}:agent`,
  });
  return { runId: run.id, note: null };
}

async function notify(
  deps: ReworkDeps,
  notice: ReworkNotice,
  attempt: number,
): Promise<{ notified: boolean; note: string | null }> {
  const notifier = deps.notifier();
  if (!notifier) return { notified: false, note: 'no notifier is configured; the task is on the board' };
  try {
    await notifier(notice);
    return { notified: true, note: null };
  } catch (error) {
    if (!isStrataError(error)) throw error;
    if (RETRYABLE_NOTICE.has(error.code) && attempt < 3) throw error;
    return { notified: false, note: `${error.code}: ${error.message}`.slice(0, 500) };
  }
}
