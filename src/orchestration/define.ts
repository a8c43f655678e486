/**
 * @module orchestration/define
 * Workflow definitions. A workflow is a function `(ctx, input) => output` whose every effect goes
 * through `ctx` (steps, syscalls, timers, signals, children, time, randomness), so it can be
 * replayed against its journal after a crash and reach the same point without repeating effects.
 *
 * Glossary
 * - **Run**: one execution of a workflow version with one input; survives crashes and restarts.
 * - **Journal**: the recorded result of each `ctx` operation, by position (seq). Replay returns
 *   recorded results instead of executing again; a replay that asks for a different operation at
 *   a position than the journal holds fails the run with `E_NONDETERMINISM`.
 * - **Lease**: a worker's time-limited claim on a run, renewed by heartbeats; when a worker dies its
 *   leases expire and another worker resumes the runs.
 * - **Queue**: a name workers subscribe to; runs are claimed by priority, then age.
 */
import type { z } from 'zod';
import type { WorkflowContext } from './context.ts';

export interface RetryOptions {
  /** Total attempts, the first included. */
  readonly attempts: number;
  /** @default 1000 */
  readonly baseDelayMs?: number;
  /** @default 60_000 */
  readonly maxDelayMs?: number;
}

export interface WorkflowOptions {
  /** @default 'default' */
  readonly queue?: string;
  /** Higher runs first. @default 0 */
  readonly priority?: number;
  /** Whole-run retries after a failure, with exponential backoff and jitter. @default 1 attempt */
  readonly retry?: RetryOptions;
  /** Wall-clock limit of a run from its start; exceeded → failed with E_RUN_TIMEOUT. */
  readonly timeoutMs?: number;
  /** Stall detection for this workflow's runs (supervision/stalls.ts); unset parts use the global policy. */
  readonly stall?: { readonly afterMs?: number; readonly policy?: 'escalate' | 'restart' };
  /**
   * When a budget refuses a call (`E_BUDGET_EXCEEDED`): `pause` parks the run until a person
   * approves a raise (one escalation and one approval per exhausted budget, see budget-pause/),
   * `fail` throws the error into the workflow. @default 'pause'
   */
  readonly onBudgetExhausted?: 'pause' | 'fail';
}

export interface WorkflowDefinition<TInput = unknown, TOutput = unknown> {
  readonly name: string;
  readonly version: number;
  readonly input: z.ZodType<TInput>;
  readonly output: z.ZodType<TOutput>;
  readonly options: WorkflowOptions;
  readonly run: (ctx: WorkflowContext, input: TInput) => Promise<TOutput>;
}

const NAME = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

export function defineWorkflow<TInput, TOutput>(
  spec: {
    name: string;
    version: number;
    input: z.ZodType<TInput>;
    output: z.ZodType<TOutput>;
  } & WorkflowOptions,
  run: (ctx: WorkflowContext, input: TInput) => Promise<TOutput>,
): WorkflowDefinition<TInput, TOutput> {
  if (!NAME.test(spec.name))
    throw new TypeError(`workflow name "${spec.name}" must be lower-case, e.g. "billing.invoice"`);
  if (!Number.isInteger(spec.version) || spec.version < 1)
    throw new TypeError('workflow version must be an integer ≥ 1');
  const { name, version, input, output, ...options } = spec;
  return { name, version, input, output, options, run };
}

/** An agent is a workflow by another name: same durability, registered the same way. */
export const defineAgent = defineWorkflow;

/** Erases type parameters so definitions of different types can share one registry. */
export function eraseWorkflow<TInput, TOutput>(def: WorkflowDefinition<TInput, TOutput>): WorkflowDefinition {
  return def as unknown as WorkflowDefinition;
}
