/**
 * @module orchestration/context
 * The `ctx` a workflow receives. Every operation takes the next position (seq) in the run's journal:
 * on replay a recorded result is returned without executing anything; otherwise the operation runs
 * and its result is recorded before the workflow moves on. Waiting operations (sleep, signals,
 * children) that cannot complete yet suspend the run: the worker is released and the run is woken
 * by a timer, a signal or the child's end.
 */
import type { Clock, Principal, Transaction } from '../kernel/index.ts';
import { StrataError } from '../kernel/index.ts';
import type { RetryOptions, WorkflowDefinition } from './define.ts';
import { errorEntry, isTransientStoreError, okEntry, rebuild, type Entry } from './journal-entry.ts';
import type { JournalKind, JournalRow, Run } from './run-row.ts';
import { SYSCALL_PREFIXES, syscallNamespace, type SyscallNamespaces } from './syscall-proxy.ts';
import { joinSuspension, type Suspension } from './suspension.ts';
import { abortReason, backoff, sleep, withTimeout } from './timing.ts';
// Supervision (issue 12): the store side of ctx.nextChildExit / ctx.cancelChild lives in its folder.
import { EXIT_SKEW_MS, type ChildEvent, type ChildExitQuery } from './supervision/child-exits.ts';
// Approvals (issue 12): ctx.approve is built from the operations below, in its own folder.
import { approve, type ApprovalDecision, type ApproveOptions } from './approvals/approve.ts';
import { isBudgetPause, pauseForBudget } from './budget-pause/pause.ts';

export { serializeError } from './journal-entry.ts';
export { Suspension } from './suspension.ts';
export { backoff } from './timing.ts';

export interface StepOptions {
  /** Attempts for this step inside the worker, with exponential backoff. @default 1 */
  readonly retry?: RetryOptions;
  /** Per attempt. */
  readonly timeoutMs?: number;
  /** A token bucket (see `engine.setRateLimit`) the step takes a token from before it runs. */
  readonly rateLimit?: string;
}

export interface ChildOptions {
  readonly idempotencyKey?: string;
  readonly priority?: number;
  /** Created now, runnable only after this delay (a supervisor's restart backoff). */
  readonly delayMs?: number;
}

export type { ChildEvent } from './supervision/child-exits.ts';

export interface NextChildExitOptions {
  /** Wait for this child only (a supervisor waiting for a child it terminated). */
  readonly runId?: string;
  /** Also return when a signal of this name arrives (child exits are taken first). */
  readonly orSignal?: string;
  /** Then return `{ type: 'timeout' }`. */
  readonly timeoutMs?: number;
}

export interface ChildHandle<TOutput> {
  readonly runId: string;
  /** Waits (durably) for the child's output; throws its error if it failed or was cancelled. */
  result(options?: { timeoutMs?: number }): Promise<TOutput>;
}

/** What the context needs from the engine, bound to one run and one lease. */
export interface RunPort {
  readonly runId: string;
  readonly principal: Principal;
  /** What a call refused by a budget does (the workflow's `onBudgetExhausted`). */
  readonly onBudgetExhausted?: 'pause' | 'fail';
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly journal: ReadonlyMap<number, JournalRow>;
  record(entry: Omit<JournalRow, 'run_id'>, tx?: Transaction): Promise<void>;
  fenced<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  consumeSignal(seq: number, name: string): Promise<{ payload: unknown } | undefined>;
  startChild(seq: number, def: WorkflowDefinition, input: unknown, options: ChildOptions): Promise<string>;
  childRun(runId: string): Promise<Run>;
  syscall(name: string, input: unknown, idempotencyKey: string): Promise<unknown>;
  /** Takes a token: 0 when taken, else ms until one is due. */
  takeToken(key: string): Promise<number>;
  /** Supervision: takes the next ended child (or signal) not taken yet, journaling it at `seq`. */
  nextChildExit(seq: number, query: ChildExitQuery): Promise<ChildEvent | undefined>;
  /** Supervision: cancels a child run and its descendants; `kill` ends the child at once. */
  cancelChild(runId: string, kill: boolean): Promise<void>;
}

/** A deadline `ms` after `now`, or none. */
const deadlineAfter =
  (ms: number | undefined) =>
  (now: number): number | null =>
    ms === undefined ? null : now + ms;

/** The recorded outcome of a finished operation: its value, or its error thrown again. */
function settled<T>(row: Entry): T {
  if (row.status === 'error') throw rebuild(row.error);
  return JSON.parse(row.output ?? 'null') as T;
}

const describe = (row: JournalRow): string => `${row.kind} "${row.name}"`;

// Declaration merging: the class gains one typed namespace per syscall prefix (`ctx.kernel.echo`),
// filled in by the constructor below.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface WorkflowContext extends SyscallNamespaces {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class WorkflowContext {
  readonly #port: RunPort;
  #seq = 0;
  /**
   * The suspension this execution raised, if any. Once a wait suspends the run, nothing after it
   * may be journaled in this execution, even by a workflow that catches what the wait threw: the
   * code would go on with a wait that has not ended (a join whose child will still retry), journal
   * what it saw meanwhile (the child `queued`), and replay would later take another path past the
   * same wait (the join failed) against that journal.
   */
  #suspension: Suspension | undefined;
  /** Child exits taken by nextChildExit so far (run id → finished_at), rebuilt by replay. */
  readonly #taken = new Map<string, number>();
  #takenSince = 0;
  /** ctx.patched answers so far: one run asks the same question with the same answer. */
  readonly #patches = new Map<string, boolean>();

  constructor(port: RunPort) {
    this.#port = port;
    const call = (name: string, input: unknown): Promise<unknown> => this.syscall(name, input);
    for (const prefix of SYSCALL_PREFIXES) {
      Object.defineProperty(this, prefix, { value: syscallNamespace(call, prefix), enumerable: false });
    }
  }

  get runId(): string {
    return this.#port.runId;
  }

  /** For the engine: set once a wait suspended this execution; the run then suspends, whatever the code does. */
  get suspension(): Suspension | undefined {
    return this.#suspension;
  }

  /** Runs `fn` once; its result is journaled, and replay returns it without running `fn` again. */
  async step<T>(
    name: string,
    fn: (info: { idempotencyKey: string; attempt: number }) => Promise<T> | T,
    options: StepOptions = {},
  ): Promise<T> {
    const seq = this.#next('step', name);
    const done = this.#recalled<T>(seq);
    if (done) return done.value;
    if (options.rateLimit !== undefined) {
      const waitMs = await this.#port.takeToken(options.rateLimit);
      if (waitMs > 0) throw this.#suspendUntil(this.#port.clock.now() + waitMs);
    }
    const started = this.#port.clock.now();
    const attempts = options.retry?.attempts ?? 1;
    for (let attempt = 1; ; attempt++) {
      let value: T;
      try {
        value = await withTimeout(
          Promise.resolve(fn({ idempotencyKey: `${this.runId}:${seq}`, attempt })),
          options.timeoutMs,
          name,
        );
      } catch (error) {
        if (attempt < attempts && !this.#port.signal.aborted) {
          await sleep(backoff(options.retry, attempt), this.#port.signal);
          continue;
        }
        if (!isTransientStoreError(error))
          await this.#port.record(
            errorEntry({
              seq,
              kind: 'step',
              name,
              error,
              attempts: attempt,
              started,
              finished: this.#port.clock.now(),
            }),
          );
        throw error;
      }
      // Outside the try: a failure to journal the result is not the step's failure (journaled as
      // one, a deadlock on this write would become the step's outcome for good).
      await this.#port.record(
        okEntry({
          seq,
          kind: 'step',
          name,
          value,
          attempts: attempt,
          started,
          finished: this.#port.clock.now(),
        }),
      );
      return value;
    }
  }

  /**
   * Runs `fn` inside the same database transaction that journals its result: effects written
   * through `tx` happen exactly once, even if the worker dies at any point (DBOS calls this a
   * transaction step). Keep it short: it holds a transaction open.
   */
  async transaction<T>(name: string, fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const seq = this.#next('tx', name);
    const done = this.#recalled<T>(seq);
    if (done) return done.value;
    const started = this.#port.clock.now();
    return this.#port.fenced(async (tx) => {
      const value = await fn(tx);
      await this.#port.record(
        okEntry({ seq, kind: 'tx', name, value, attempts: 1, started, finished: this.#port.clock.now() }),
        tx,
      );
      return value;
    });
  }

  /** Calls a syscall through the kernel pipeline as the run's principal; journaled like a step. */
  async syscall<T = unknown>(name: string, input: unknown): Promise<T> {
    for (;;) {
      try {
        return await this.#syscallOnce<T>(name, input);
      } catch (error) {
        // An exhausted budget parks the run (journaled, so replay takes the same path) and the
        // call is made again, at a new position, once a raise is approved.
        if (this.#port.onBudgetExhausted !== 'pause' || !isBudgetPause(name, error)) throw error;
        await pauseForBudget(this, name, error);
      }
    }
  }

  async #syscallOnce<T>(name: string, input: unknown): Promise<T> {
    const seq = this.#next('syscall', name);
    const done = this.#recalled<T>(seq);
    if (done) return done.value;
    const started = this.#port.clock.now();
    let value: T;
    try {
      value = (await this.#port.syscall(name, input, `${this.runId}:${seq}`)) as T;
    } catch (error) {
      // Aborted by this worker (stopping, lease lost, cancelled) or a transient store failure: the
      // call's outcome is unknown or says nothing about it, so journal nothing and let the next
      // worker make the call again on replay.
      if (this.#port.signal.aborted || isTransientStoreError(error)) throw error;
      await this.#port.record(
        errorEntry({
          seq,
          kind: 'syscall',
          name,
          error,
          attempts: 1,
          started,
          finished: this.#port.clock.now(),
        }),
      );
      throw error;
    }
    await this.#port.record(
      okEntry({ seq, kind: 'syscall', name, value, attempts: 1, started, finished: this.#port.clock.now() }),
    );
    return value;
  }

  /**
   * Whether this run takes the branch added by patch `id` (Temporal's `patched`): change the code
   * of a deployed version without breaking its runs in flight, as in
   * `if (await ctx.patched('tax')) await ctx.step('tax', …)`. A run reaching this point for the
   * first time records a marker and takes the new branch (true). A run replaying a journal that
   * went past this point without the marker, i.e. started on the old code, gets false and keeps
   * the old branch, so its journal still matches. The answer is fixed for the rest of the run.
   * Remove a `patched` call (keeping the new branch only) once no run that started before it is
   * left; a journal holding the marker then fails replay with `E_NONDETERMINISM`.
   */
  async patched(id: string): Promise<boolean> {
    const known = this.#patches.get(id);
    if (known !== undefined) return known;
    this.#assertLive();
    const seq = this.#seq + 1;
    const row = this.#port.journal.get(seq);
    // Something else was journaled here: this run went past this point on the old code.
    const taken = !row || (row.kind === 'patch' && row.name === id);
    this.#patches.set(id, taken);
    if (!taken) return false;
    this.#seq = seq;
    if (!row) {
      const now = this.#port.clock.now();
      await this.#port.record(
        okEntry({ seq, kind: 'patch', name: id, value: true, attempts: 1, started: now, finished: now }),
      );
    }
    return true;
  }

  /** The time, recorded once: replay sees the same value. */
  async now(): Promise<number> {
    return this.#recordedValue('now', 'now', () => this.#port.clock.now());
  }

  /** A random number in [0, 1), recorded once. */
  async random(): Promise<number> {
    return this.#recordedValue('random', 'random', () => Math.random());
  }

  /** Sleeps durably for `ms`, or until a time (`{ until }` in epoch ms); holds no worker meanwhile. */
  async sleep(duration: number | { until: number }): Promise<void> {
    const seq = this.#next('sleep', 'sleep');
    const row = await this.#waiting(seq, 'sleep', 'sleep', (now) =>
      typeof duration === 'number' ? now + Math.max(0, duration) : duration.until,
    );
    if (row.status === 'ok') return;
    const wakeAt = row.wake_at ?? 0;
    if (this.#port.clock.now() < wakeAt) throw this.#suspendUntil(wakeAt);
    await this.#settle(row, null);
  }

  /** Waits durably for a signal sent to this run (`runs.signal`); returns its payload. */
  async waitFor<T = unknown>(signal: string, options: { timeoutMs?: number } = {}): Promise<T> {
    const seq = this.#next('signal', signal);
    const row = await this.#waiting(seq, 'signal', signal, deadlineAfter(options.timeoutMs));
    if (row.status !== 'pending') return settled<T>(row);
    const received = await this.#port.consumeSignal(seq, signal);
    if (received) return received.payload as T;
    if (row.wake_at !== null && this.#port.clock.now() >= row.wake_at) {
      return this.#fail(row, new StrataError('E_WAIT_TIMEOUT', `signal "${signal}" did not arrive in time`));
    }
    throw this.#suspendUntil(row.wake_at);
  }

  /** A durable approval: asked once, survives restarts, decided once (see approvals/approve.ts). */
  approve<TValue = unknown>(options: ApproveOptions<TValue>): Promise<ApprovalDecision<TValue>> {
    return approve(this, options);
  }

  /** Starts a child run (recorded, so replay never starts it twice); await `handle.result()`. */
  async startChild<TInput, TOutput>(
    def: WorkflowDefinition<TInput, TOutput>,
    input: TInput,
    options: ChildOptions = {},
  ): Promise<ChildHandle<TOutput>> {
    const seq = this.#next('child', def.name);
    const done = this.#recalled<{ runId: string }>(seq);
    const runId = done
      ? done.value.runId
      : await this.#port.startChild(seq, def as unknown as WorkflowDefinition, input, options);
    return { runId, result: (opts) => this.#join<TOutput>(runId, opts?.timeoutMs) };
  }

  /**
   * Supervision primitive: waits durably for the next child run that ended (completed, failed or
   * cancelled) and was not taken yet, or for a signal named `orSignal`, or for the timeout. Each
   * exit is returned once, and the order in which exits are taken is journaled, so replay of a
   * supervisor sees the same sequence. Children started with `startChild` wake this run when they end.
   */
  async nextChildExit(options: NextChildExitOptions = {}): Promise<ChildEvent> {
    const name = options.runId ?? (options.orSignal === undefined ? '*' : `*|${options.orSignal}`);
    const seq = this.#next('exit', name);
    const row = await this.#waiting(seq, 'exit', name, deadlineAfter(options.timeoutMs));
    if (row.status !== 'pending') return this.#noteTaken(settled<ChildEvent>(row));
    const horizon = this.#takenSince - EXIT_SKEW_MS;
    const taken = [...this.#taken].filter(([, finishedAt]) => finishedAt >= horizon).map(([id]) => id);
    const event = await this.#port.nextChildExit(seq, {
      runId: options.runId,
      orSignal: options.orSignal,
      taken,
      since: this.#takenSince,
    });
    if (event) return this.#noteTaken(event);
    const now = this.#port.clock.now();
    if (row.wake_at !== null && now >= row.wake_at) {
      const timeout: ChildEvent = { type: 'timeout', at: now };
      await this.#settle(row, timeout);
      return timeout;
    }
    throw this.#suspendUntil(row.wake_at);
  }

  #noteTaken(event: ChildEvent): ChildEvent {
    if (event.type === 'exit') {
      this.#taken.set(event.runId, event.finishedAt);
      this.#takenSince = Math.max(this.#takenSince, event.finishedAt);
    }
    return event;
  }

  /** Supervision primitive: cancels a child (journaled); `kill` ends it at once, running or not. */
  async cancelChild(runId: string, options: { kill?: boolean } = {}): Promise<void> {
    const kill = options.kill ?? false;
    await this.step(`${kill ? 'kill' : 'cancel'}:${runId}`, () => this.#port.cancelChild(runId, kill));
  }

  async #join<T>(childId: string, timeoutMs?: number): Promise<T> {
    const seq = this.#next('join', childId);
    const row = await this.#waiting(seq, 'join', childId, deadlineAfter(timeoutMs));
    if (row.status !== 'pending') return settled<T>(row);
    const child = await this.#port.childRun(childId);
    if (child.status === 'completed') {
      await this.#settle(row, child.output ?? null);
      return child.output as T;
    }
    if (child.status === 'failed' || child.status === 'cancelled') {
      const code = child.status === 'cancelled' ? 'E_CANCELLED' : 'E_INTERNAL';
      const message = `child run ${childId} ${child.status}: ${child.error?.message ?? ''}`;
      return this.#fail(row, new StrataError(code, message, { childId, error: child.error }));
    }
    if (row.wake_at !== null && this.#port.clock.now() >= row.wake_at) {
      return this.#fail(
        row,
        new StrataError('E_WAIT_TIMEOUT', `child run ${childId} did not finish in time`),
      );
    }
    throw this.#suspendUntil(row.wake_at);
  }

  /** The journal row of a wait at `seq`, recording it as pending (with its wake-up time) on first reach. */
  async #waiting(
    seq: number,
    kind: JournalKind,
    name: string,
    wakeAt: (now: number) => number | null,
  ): Promise<Entry> {
    const existing = this.#port.journal.get(seq);
    if (existing) return existing;
    const now = this.#port.clock.now();
    const at = wakeAt(now);
    const row: Entry = {
      seq,
      kind,
      name,
      status: 'pending',
      output: null,
      error: null,
      wake_at: at === null ? null : Math.ceil(at),
      attempts: 1,
      started_at: now,
      finished_at: null,
    };
    await this.#port.record(row);
    return row;
  }

  /** Records that a wait completed with `value`. */
  async #settle(row: Entry, value: unknown): Promise<void> {
    await this.#port.record({
      ...row,
      status: 'ok',
      output: JSON.stringify(value),
      finished_at: this.#port.clock.now(),
    });
  }

  /** Records that a wait failed with `error`, and throws it. */
  async #fail(row: Entry, error: StrataError): Promise<never> {
    await this.#port.record({
      ...row,
      status: 'error',
      error: JSON.stringify(error.toJSON()),
      finished_at: this.#port.clock.now(),
    });
    throw error;
  }

  async #recordedValue(kind: JournalKind, name: string, make: () => number): Promise<number> {
    const seq = this.#next(kind, name);
    const done = this.#recalled<number>(seq);
    if (done) return done.value;
    const value = make();
    const now = this.#port.clock.now();
    await this.#port.record(okEntry({ seq, kind, name, value, attempts: 1, started: now, finished: now }));
    return value;
  }

  /** Takes the next position; checks the journal agrees about what happens there. */
  #next(kind: JournalKind, name: string): number {
    this.#assertLive();
    const seq = ++this.#seq;
    const row = this.#port.journal.get(seq);
    if (row && (row.kind !== kind || row.name !== name)) {
      throw new StrataError(
        'E_NONDETERMINISM',
        `non-deterministic replay at step ${seq}: the journal holds ${describe(row)} but the code asked for ${kind} "${name}"`,
        { seq, journal: { kind: row.kind, name: row.name }, requested: { kind, name } },
      );
    }
    return seq;
  }

  /** Throws if this execution must go no further: aborted, or suspended by an earlier wait. */
  #assertLive(): void {
    if (this.#port.signal.aborted) throw abortReason(this.#port.signal);
    if (this.#suspension) throw this.#suspension;
  }

  /** The suspension to throw for a wait until `wakeAt`, remembered for the rest of the execution. */
  #suspendUntil(wakeAt: number | null): Suspension {
    this.#suspension = joinSuspension(this.#suspension, wakeAt);
    return this.#suspension;
  }

  #recalled<T>(seq: number): { value: T } | undefined {
    const row = this.#port.journal.get(seq);
    if (!row || row.status === 'pending') return undefined;
    if (row.status === 'error') throw rebuild(row.error);
    return { value: JSON.parse(row.output ?? 'null') as T };
  }
}
