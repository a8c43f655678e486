/**
 * @module orchestration/supervision/supervisor
 * `defineSupervisor`: a supervisor is itself a durable workflow run, and its children are child
 * runs. Its loop takes one child exit at a time (`ctx.nextChildExit`, journaled in the order taken),
 * asks the pure {@link decide} what OTP would do, and carries the actions out through journaled
 * operations (start a child, cancel it, wait for it to stop, kill it after its shutdown timeout).
 * All state is rebuilt by replay, so a worker killed with SIGKILL brings the tree back as it was:
 * the same children, incarnations, restart counts and breaker state, and no child started twice
 * (each start is journaled and its idempotency key names the incarnation).
 *
 * Exits map to OTP's reasons: completed → normal, failed → abnormal, cancelled from outside →
 * shutdown. Exceeding the intensity stops the children in reverse start order and fails the
 * supervisor's run (E_SUPERVISOR_INTENSITY), an abnormal exit for its own supervisor; OTP exits
 * with `shutdown` there, but a failure is what lets a parent of any restart type react and makes a
 * root supervisor's end visible. auto_shutdown completes the run with `{ reason: 'auto_shutdown' }`.
 */
import { z } from 'zod';
import { StrataError } from '../../kernel/index.ts';
import type { ChildEvent, WorkflowContext } from '../context.ts';
import { defineWorkflow, type WorkflowDefinition } from '../define.ts';
import {
  CLOSED_BREAKER,
  guard,
  release,
  type BackoffPolicy,
  type BreakerPolicy,
  type BreakerState,
} from './breaker.ts';
import { escalateSupervisorEvent } from './escalate.ts';
import { freshPacer, paceStart, type PacerState } from './spawn-pacer.ts';
import {
  decide,
  initialStart,
  type Action,
  type ChildSlot,
  type ExitReason,
  type SupervisorFlags,
  type SupervisorState,
} from './decide.ts';
import {
  AGENT_SUPERVISOR_DEFAULTS,
  incarnationKey,
  isChildId,
  START_CHILD_SIGNAL,
  validateSpec,
  type ChildTemplate,
  type SupervisorEvent,
  type SupervisorSpec,
} from './spec.ts';

/** Every supervisor defined in this process, by workflow name (for the tree and the syscalls). */
const SUPERVISORS = new Map<string, SupervisorSpec>();

/** The supervisor spec of a workflow version (without a version: the latest defined). */
export const supervisorSpec = (workflow: string, version?: number): SupervisorSpec | undefined =>
  SUPERVISORS.get(version === undefined ? workflow : `${workflow}@${version}`);

const dynamicChild = z.object({
  id: z.string().refine(isChildId, 'invalid child id').optional(),
  input: z.unknown(),
});
const supervisorInput = z
  .object({ children: z.array(dynamicChild).max(100_000).default([]) })
  .default({ children: [] });
const supervisorOutput = z.object({ reason: z.literal('auto_shutdown'), childId: z.string() });

export type SupervisorInput = z.infer<typeof supervisorInput>;
export type SupervisorOutput = z.infer<typeof supervisorOutput>;

export function defineSupervisor(
  spec: SupervisorSpec,
): WorkflowDefinition<SupervisorInput, SupervisorOutput> {
  validateSpec(spec, supervisorSpec);
  SUPERVISORS.set(spec.name, spec);
  SUPERVISORS.set(`${spec.name}@${spec.version}`, spec);
  return defineWorkflow(
    {
      name: spec.name,
      version: spec.version,
      input: supervisorInput,
      output: supervisorOutput,
      ...(spec.queue === undefined ? {} : { queue: spec.queue }),
    },
    (ctx, input) => new SupervisorLoop(ctx, spec).run(input.children),
  );
}

const REASON: Record<Extract<ChildEvent, { type: 'exit' }>['status'], ExitReason> = {
  completed: 'normal',
  cancelled: 'shutdown',
  failed: 'abnormal',
};

class SupervisorLoop {
  readonly #ctx: WorkflowContext;
  readonly #spec: SupervisorSpec;
  readonly #flags: SupervisorFlags;
  readonly #policy: { backoff: BackoffPolicy; breaker: BreakerPolicy };
  #state: SupervisorState = { children: [], restarts: [] };
  #breaker: BreakerState = CLOSED_BREAKER;
  /** Child id → its template and input. */
  readonly #specs = new Map<string, { template: ChildTemplate; input: unknown }>();
  /** Child id → run id of its current incarnation, and back. */
  readonly #current = new Map<string, string>();
  readonly #childOf = new Map<string, string>();
  #dynamicCount = 0;
  /** Latest incarnation per child id, kept when a child leaves the list: an id added again continues it. */
  readonly #incarnations = new Map<string, number>();
  /** The journaled time of the event being handled, and the spawn pacer (with a spawnRate only). */
  #at = 0;
  #pacer: PacerState | undefined;

  constructor(ctx: WorkflowContext, spec: SupervisorSpec) {
    this.#ctx = ctx;
    this.#spec = spec;
    const d = AGENT_SUPERVISOR_DEFAULTS;
    this.#flags = {
      strategy: spec.strategy,
      intensity: spec.intensity ?? d.intensity,
      periodMs: spec.periodMs ?? d.periodMs,
      autoShutdown: spec.autoShutdown ?? d.autoShutdown,
    };
    this.#policy = { backoff: { ...d.backoff, ...spec.backoff }, breaker: { ...d.breaker, ...spec.breaker } };
  }

  async run(initial: readonly { id?: string; input?: unknown }[]): Promise<SupervisorOutput> {
    const slots: ChildSlot[] = [];
    for (const child of this.#spec.children ?? []) slots.push(this.#slot(child.id, child, child.input));
    for (const child of initial) {
      const slot = this.#addDynamic(child);
      if (slot) slots.push(slot);
    }
    const start = initialStart(slots);
    this.#state = start.state;
    // Only a paced supervisor records its start time, so unpaced histories replay unchanged.
    if (this.#spec.spawnRate) {
      this.#at = await this.#ctx.now();
      this.#pacer = freshPacer(this.#spec.spawnRate, this.#at);
    }
    await this.#apply(start.actions, 0);
    const signal = this.#flags.strategy === 'simple_one_for_one' ? START_CHILD_SIGNAL : undefined;
    let lastAt = 0;
    for (;;) {
      const open = this.#breaker.openUntil;
      const event = await this.#ctx.nextChildExit({
        ...(signal === undefined ? {} : { orSignal: signal }),
        ...(open === null ? {} : { timeoutMs: Math.max(0, open - lastAt) }),
      });
      lastAt = event.at;
      this.#at = event.at;
      const ended = event.type === 'exit' ? await this.#onExit(event) : undefined;
      if (ended) return ended;
      if (event.type === 'signal') await this.#onStartChild(event.payload);
      const released = release(this.#state, this.#breaker, event.at);
      if (released) {
        this.#state = released.state;
        this.#breaker = released.breaker;
        await this.#apply(released.actions, 0);
      }
    }
  }

  #slot(id: string, template: ChildTemplate, input: unknown): ChildSlot {
    this.#specs.set(id, { template, input });
    return {
      id,
      restart: template.restart ?? 'permanent',
      significant: template.significant ?? false,
      incarnation: this.#incarnations.get(id) ?? 0,
      running: false,
    };
  }

  /** A dynamic child of a simple_one_for_one supervisor; a repeated id is ignored. */
  #addDynamic(child: { id?: string; input?: unknown }): ChildSlot | undefined {
    const template = this.#spec.childSpec;
    if (!template) return undefined;
    const id = child.id ?? `child-${++this.#dynamicCount}`;
    if (this.#specs.has(id) && this.#state.children.some((c) => c.id === id)) return undefined;
    return this.#slot(id, template, child.input);
  }

  async #onStartChild(payload: unknown): Promise<void> {
    const parsed = dynamicChild.safeParse(payload);
    const slot = parsed.success ? this.#addDynamic(parsed.data) : undefined;
    if (!slot) return;
    const started = initialStart([slot]);
    this.#state = { ...this.#state, children: [...this.#state.children, ...started.state.children] };
    await this.#apply(started.actions, 0);
  }

  async #onExit(event: Extract<ChildEvent, { type: 'exit' }>): Promise<SupervisorOutput | undefined> {
    const childId = this.#childOf.get(event.runId);
    if (childId === undefined || this.#current.get(childId) !== event.runId) {
      // An exit from an incarnation the supervisor already replaced or terminated: fenced out.
      await this.#emit({ type: 'stale_exit', runId: event.runId });
      return undefined;
    }
    this.#childOf.delete(event.runId);
    this.#current.delete(childId);
    const reason = REASON[event.status];
    const decision = decide(this.#flags, this.#state, { childId, reason, at: event.at });
    const guarded = guard(this.#policy, this.#breaker, decision, { reason, at: event.at });
    this.#state = guarded.state;
    this.#breaker = guarded.breaker;
    if (guarded.opened) {
      const opened = { type: 'breaker_open', ...guarded.opened } as const;
      await this.#emit(opened);
      await escalateSupervisorEvent(this.#ctx, this.#spec.name, opened);
    }
    const stop = await this.#apply(guarded.actions, guarded.delayMs);
    if (stop === 'intensity') {
      const restarts = decision.state.restarts.length + 1;
      const exceeded = { type: 'intensity_exceeded', restarts, periodMs: this.#flags.periodMs } as const;
      await this.#emit(exceeded);
      await escalateSupervisorEvent(this.#ctx, this.#spec.name, exceeded); // P0 at the root only
      throw new StrataError(
        'E_SUPERVISOR_INTENSITY',
        `supervisor ${this.#spec.name} exceeded ${this.#flags.intensity} restarts in ${this.#flags.periodMs} ms; its children were stopped`,
        { restarts, periodMs: this.#flags.periodMs, childId },
      );
    }
    if (stop === 'auto_shutdown') {
      await this.#emit({ type: 'auto_shutdown', childId });
      return { reason: 'auto_shutdown', childId };
    }
    return undefined;
  }

  /** Carries actions out in order; returns why the supervisor stops, if it does. */
  async #apply(
    actions: readonly Action[],
    delayMs: number,
  ): Promise<'intensity' | 'auto_shutdown' | undefined> {
    for (const action of actions) {
      if (action.type === 'shutdown') return action.reason;
      if (action.type === 'terminate') await this.#terminate(action.childId);
      else await this.#start(action.childId, action.incarnation, delayMs);
    }
    return undefined;
  }

  async #start(childId: string, incarnation: number, delayMs: number): Promise<void> {
    const child = this.#specs.get(childId);
    if (!child) throw new StrataError('E_INTERNAL', `supervisor has no spec for child ${childId}`);
    if (this.#spec.spawnRate && this.#pacer) {
      const paced = paceStart(this.#spec.spawnRate, this.#pacer, this.#at + delayMs);
      this.#pacer = paced.state;
      delayMs += paced.delayMs;
    }
    const handle = await this.#ctx.startChild(child.template.workflow as WorkflowDefinition, child.input, {
      idempotencyKey: incarnationKey(this.#ctx.runId, incarnation, childId),
      ...(delayMs > 0 ? { delayMs } : {}),
    });
    this.#incarnations.set(childId, incarnation);
    this.#current.set(childId, handle.runId);
    this.#childOf.set(handle.runId, childId);
  }

  /** OTP's shutdown: ask the child to stop, wait its shutdown time, then kill it. */
  async #terminate(childId: string): Promise<void> {
    const runId = this.#current.get(childId);
    if (runId === undefined) return;
    const shutdownMs = this.#specs.get(childId)?.template.shutdownMs ?? AGENT_SUPERVISOR_DEFAULTS.shutdownMs;
    await this.#ctx.cancelChild(runId, { kill: shutdownMs === 0 });
    const stopped = await this.#ctx.nextChildExit({ runId, timeoutMs: shutdownMs });
    if (stopped.type === 'timeout') {
      await this.#ctx.cancelChild(runId, { kill: true });
      await this.#ctx.nextChildExit({ runId });
    }
    this.#current.delete(childId);
    this.#childOf.delete(runId);
  }

  async #emit(event: SupervisorEvent): Promise<void> {
    const hook = this.#spec.onEvent;
    const supervisorRunId = this.#ctx.runId;
    await this.#ctx.step(`event:${event.type}`, async () => {
      await hook?.({ ...event, supervisorRunId });
      return event;
    });
  }
}
