/**
 * @module server/a2a-runs
 * Each A2A task of `strata up` is a durable run. The first message of a task starts a run of the
 * agent's workflow (idempotency key `a2a:<agent>:<task>`, so a retried message never starts a
 * second one) as the caller's principal, so every syscall it makes is checked against the
 * caller's grants. The run's states map onto the task's: running → WORKING, completed →
 * COMPLETED (its text as the artifact), failed → FAILED, and a run waiting in `askCaller` →
 * INPUT_REQUIRED with the question; the caller's next message on the task is signalled to the
 * run, which resumes where it waited. Cancelling the task cancels the run, whether it is working
 * (the handler's signal) or waiting for input (`cancelA2aRun`, told by the routes).
 *
 * Agents run `a2a.echo` (below) unless given another workflow: config `a2a.workflows`, a map
 * from agent name to workflow name.
 */
import type { User } from '@a2a-js/sdk/server';
import {
  A2A_ASK_STEP,
  A2A_INPUT_SIGNAL,
  a2aTaskInput,
  a2aTaskOutput,
  type A2aHandler,
  type A2aReply,
} from '../identity/index.ts';
import { StrataError, type Principal } from '../kernel/index.ts';
import {
  defineWorkflow,
  RUN_CHANGED,
  TERMINAL,
  type Engine,
  type JournalRow,
  type RunChangedPayload,
} from '../orchestration/index.ts';
import { sseWaker, type SseWaker } from './sse-waker.ts';

/** The default workflow of an exposed agent: answers with the text it was sent. */
export const a2aEchoWorkflow = defineWorkflow(
  { name: 'a2a.echo', version: 1, input: a2aTaskInput, output: a2aTaskOutput },
  (_ctx, input) => Promise.resolve({ state: 'completed' as const, text: input.text }),
);

/** An A2A caller authenticated as a Strata principal (see a2a.ts). */
export class PrincipalUser implements User {
  readonly principal: Principal;
  constructor(principal: Principal) {
    this.principal = principal;
  }
  get isAuthenticated(): boolean {
    return true;
  }
  get userName(): string {
    return this.principal.id;
  }
}

/**
 * A turn re-reads its run when the run changes (its `run:changed` events on the engine's bus, which
 * this process hears right after each commit) and, failing that, every 2 s: a run executed by a
 * worker of another process changes without an event here (that process's bus delivers it).
 */
const SAFETY_POLL_MS = 2000;

const runKey = (agent: string, taskId: string): string => `a2a:${agent}:${taskId}`;

/** Cancels the durable run behind a task a caller cancelled (a no-op when it already ended). */
export async function cancelA2aRun(
  engine: Engine,
  tenantId: string,
  agent: string,
  taskId: string,
): Promise<void> {
  const row = await engine.store.get<{ id: string }>(
    'SELECT id FROM orch_runs WHERE tenant_id = ? AND idempotency_key = ?',
    [tenantId, runKey(agent, taskId)],
  );
  if (row) await engine.cancel(tenantId, row.id).catch(() => undefined);
}

const questionsOf = (journal: readonly JournalRow[]): string[] =>
  journal
    .filter((e) => e.kind === 'step' && e.name === A2A_ASK_STEP && e.status === 'ok')
    .map((e) => JSON.parse(e.output ?? '""') as string);

const waitingForInput = (journal: readonly JournalRow[]): boolean =>
  journal.some((e) => e.kind === 'signal' && e.name === A2A_INPUT_SIGNAL && e.status === 'pending');

/**
 * Wakes `waker` whenever the run changes (its `run:changed` events) or the caller gives up; returns
 * the function that stops. Call it before reading the run: a change committed in between wakes it.
 */
function wakeOnChange(
  engine: Engine,
  run: { readonly tenantId: string; readonly id: string },
  signal: AbortSignal,
  waker: SseWaker,
) {
  const unsubscribe = engine.events.subscribe(RUN_CHANGED, (event) => {
    const changed = event.payload as RunChangedPayload | null;
    if (event.tenantId === run.tenantId && changed?.id === run.id) waker.poke();
  });
  const onAbort = (): void => waker.stop();
  signal.addEventListener('abort', onAbort, { once: true });
  return (): void => {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  };
}

/** The A2A handler of one agent: each turn drives (or starts) the task's durable run. */
export function durableA2aHandler(options: { engine: Engine; agent: string; workflow: string }): A2aHandler {
  const { engine, agent, workflow } = options;
  return async (turn): Promise<A2aReply> => {
    if (!(turn.user instanceof PrincipalUser)) {
      throw new StrataError('E_UNAUTHENTICATED', 'A2A tasks run as an authenticated principal');
    }
    const { principal } = turn.user;
    const tenant = principal.tenantId;
    const input = { agent, taskId: turn.taskId, contextId: turn.contextId, text: turn.text };
    const run = await engine.start(workflow, input, {
      principal,
      idempotencyKey: runKey(agent, turn.taskId),
    });
    const waker = sseWaker();
    const stopWaking = wakeOnChange(engine, { tenantId: tenant, id: run.id }, turn.signal, waker);
    try {
      let asked = questionsOf(await engine.journal(tenant, run.id)).length;
      if (turn.task !== undefined) {
        // A reply to INPUT_REQUIRED: the run waits in askCaller for exactly this signal.
        await engine.signal(tenant, run.id, A2A_INPUT_SIGNAL, { text: turn.text });
      } else asked = 0;
      for (;;) {
        if (turn.signal.aborted) {
          await engine.cancel(tenant, run.id).catch(() => undefined);
          return { state: 'failed', text: 'cancelled' };
        }
        const now = await engine.get(tenant, run.id);
        if (now.status === 'completed') {
          const out = a2aTaskOutput.parse(now.output);
          return { state: out.state, text: out.text, ...(out.data === undefined ? {} : { data: out.data }) };
        }
        if (TERMINAL.has(now.status)) {
          return { state: 'failed', text: now.error?.message ?? `the run ended ${now.status}` };
        }
        if (now.status === 'waiting') {
          const journal = await engine.journal(tenant, run.id);
          const questions = questionsOf(journal);
          if (questions.length > asked && waitingForInput(journal)) {
            return { state: 'input-required', text: questions.at(-1) ?? '' };
          }
        }
        await waker.idle(SAFETY_POLL_MS);
      }
    } finally {
      stopWaking();
    }
  };
}
