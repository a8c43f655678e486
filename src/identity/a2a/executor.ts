/**
 * @module identity/a2a/executor
 * What runs an A2A task. `A2aExecutor` is the SDK's `AgentExecutor` contract (publish a `task`
 * first, then status and artifact updates, on the task's event bus; `cancelTask` ends it with
 * CANCELED). {@link InProcessExecutor} calls one async handler per turn and maps its answer onto
 * TASK_STATE_*; in `strata up` that handler runs each task as a durable run (server/a2a-runs.ts).
 *
 * States: SUBMITTED (the task event) → WORKING → COMPLETED | INPUT_REQUIRED | FAILED | REJECTED,
 * or CANCELED when cancelled; a reply to an INPUT_REQUIRED task continues the same task.
 */
import { TaskState, type Message, type Task } from '@a2a-js/sdk';
import {
  AgentEvent,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
  type User,
} from '@a2a-js/sdk/server';
import { artifactOf, dataPart, submittedTask, textMessage, textOf, textPart } from './parts.ts';

export { textOf } from './parts.ts';

/** The contract a task runner fulfils (the SDK's `AgentExecutor`). */
export type A2aExecutor = AgentExecutor;

/** One turn as the handler sees it. */
export interface A2aTurn {
  readonly taskId: string;
  readonly contextId: string;
  /** The text parts of the caller's message, joined by newlines. */
  readonly text: string;
  readonly message: Message;
  /** The task so far (history included) when this turn continues one. */
  readonly task?: Task;
  /** Aborted when the task is cancelled. */
  readonly signal: AbortSignal;
  /** Who sent the message, as the service's `authenticate` said (absent: unauthenticated). */
  readonly user?: User;
}

/** The handler's answer; `input-required` keeps the task open for the caller's next message. */
export interface A2aReply {
  readonly state: 'completed' | 'input-required' | 'failed' | 'rejected';
  readonly text: string;
  /** Structured output, sent as a data part of the artifact. */
  readonly data?: unknown;
}

export type A2aHandler = (turn: A2aTurn) => Promise<A2aReply>;

const FINAL: Record<A2aReply['state'], TaskState> = {
  completed: TaskState.TASK_STATE_COMPLETED,
  'input-required': TaskState.TASK_STATE_INPUT_REQUIRED,
  failed: TaskState.TASK_STATE_FAILED,
  rejected: TaskState.TASK_STATE_REJECTED,
};

/** Runs a handler in this process, one turn per message; cancellation aborts the handler's signal. */
export class InProcessExecutor implements A2aExecutor {
  readonly #handler: A2aHandler;
  readonly #running = new Map<string, { controller: AbortController; contextId: string }>();
  /** Tasks whose last turn ended in INPUT_REQUIRED, with their context: cancellable while idle. */
  readonly #waiting = new Map<string, string>();
  readonly #now: () => Date;

  constructor(handler: A2aHandler, options: { now?: () => Date } = {}) {
    this.#handler = handler;
    this.#now = options.now ?? (() => new Date());
  }

  execute = async (ctx: RequestContext, bus: ExecutionEventBus): Promise<void> => {
    const { taskId, contextId } = ctx;
    const controller = new AbortController();
    this.#waiting.delete(taskId);
    this.#running.set(taskId, { controller, contextId });
    const status = (state: TaskState, message?: Message) => ({
      state,
      message,
      timestamp: this.#now().toISOString(),
    });
    const first = ctx.task
      ? { ...ctx.task, status: status(TaskState.TASK_STATE_WORKING) }
      : submittedTask({
          id: taskId,
          contextId,
          message: ctx.userMessage,
          timestamp: this.#now().toISOString(),
        });
    bus.publish(AgentEvent.task(first));
    if (!ctx.task) {
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId,
          status: status(TaskState.TASK_STATE_WORKING),
          metadata: undefined,
        }),
      );
    }
    try {
      let reply: A2aReply;
      try {
        reply = await this.#handler({
          taskId,
          contextId,
          text: textOf(ctx.userMessage),
          message: ctx.userMessage,
          task: ctx.task,
          signal: controller.signal,
          ...(ctx.context?.user ? { user: ctx.context.user } : {}),
        });
      } catch (error) {
        reply = { state: 'failed', text: `the agent failed: ${(error as Error).message}` };
      }
      // A cancelled task already got its CANCELED event from cancelTask: publish nothing after it.
      if (controller.signal.aborted) return;
      if (reply.state === 'completed') {
        bus.publish(
          AgentEvent.artifactUpdate({
            taskId,
            contextId,
            artifact: artifactOf('result', [
              textPart(reply.text),
              ...(reply.data === undefined ? [] : [dataPart(reply.data)]),
            ]),
            append: false,
            lastChunk: true,
            metadata: undefined,
          }),
        );
      }
      if (reply.state === 'input-required') this.#waiting.set(taskId, contextId);
      else this.#waiting.delete(taskId);
      const message = textMessage({ role: 'agent', taskId, contextId, text: reply.text });
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId,
          status: status(FINAL[reply.state], message),
          metadata: undefined,
        }),
      );
    } finally {
      this.#running.delete(taskId);
      bus.finished();
    }
  };

  cancelTask = (taskId: string, bus: ExecutionEventBus): Promise<void> => {
    const running = this.#running.get(taskId);
    // A task idle in INPUT_REQUIRED has no turn to abort, but the SDK still waits for CANCELED.
    const waiting = this.#waiting.get(taskId);
    this.#waiting.delete(taskId);
    const contextId = running && !running.controller.signal.aborted ? running.contextId : waiting;
    if (contextId !== undefined) {
      running?.controller.abort();
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId,
          status: {
            state: TaskState.TASK_STATE_CANCELED,
            message: undefined,
            timestamp: this.#now().toISOString(),
          },
          metadata: undefined,
        }),
      );
    }
    return Promise.resolve();
  };
}
