/**
 * @module kernel/syscalls/define
 * How a layer declares a syscall: schemas, idempotency, cost, resource, timeout, retry, handler.
 * The pipeline does everything else (authorization, budget, metering, audit, tracing, journal), so a
 * layer never re-implements any of it.
 *
 * Glossary
 * - **Idempotency class**: `pure` (no effects: safe to retry and to repeat), `idempotent` (effects,
 *   but repeating has the same result), `unsafe` (repeating repeats the effect; retried only when
 *   the caller passes an idempotency key).
 * - **Resource**: a `/`-separated path inside the caller's tenant that grants match against
 *   (`kernel/echo`, `memory/agent/a1`). The tenant is never part of it: it comes from the principal.
 * - **Cost**: micro-units of the tenant's currency the call is estimated to cost, used by the budget
 *   hook before execution and by metering after.
 */
import type { Attributes } from '@opentelemetry/api';
import type { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Principal } from '../auth/principal.ts';
import type { UsageLabels } from './hooks.ts';

/** The run an audit entry belongs to (kernel/audit/entry.ts: `runId`, `rootRunId`). */
export interface AuditRun {
  readonly runId: string;
  readonly rootRunId?: string;
}

export type IdempotencyClass = 'pure' | 'idempotent' | 'unsafe';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** What a handler receives besides its input. */
export interface SyscallContext {
  readonly principal: Principal;
  readonly tenantId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Aborted on timeout or when the caller gives up. */
  readonly signal: AbortSignal;
  readonly attempt: number;
  readonly idempotencyKey?: string;
  /** The run that made the call, when made from a durable run. */
  readonly runId?: string;
}

export interface SyscallDefinition<TInput = unknown, TOutput = unknown> {
  /** Dotted, lower-case: `<layer>.<call>` or `<layer>.<group>.<call>`. */
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType<TInput>;
  readonly output: z.ZodType<TOutput>;
  readonly idempotency: IdempotencyClass;
  /** The resource the call touches, for grant matching. @default name with `.` → `/` */
  readonly resource?: (input: TInput) => string;
  /**
   * Estimated cost in micro-units before the call: what the budget reserves and a capability's
   * cost limit is checked against. It may look up the caller tenant's price (a tool's, say).
   * @default 0
   */
  readonly estimateCost?: (input: TInput, ctx: { readonly tenantId: string }) => number | Promise<number>;
  /** Actual cost after the call. @default the estimate */
  readonly actualCost?: (input: TInput, output: TOutput) => number;
  /** @default 30_000 */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * A summary of the result recorded in the call's audit entry next to its input (e.g. an exit code
   * and byte counts, never bulk output). Secret input fields are redacted as usual; the summary
   * must not carry secrets. @default nothing
   */
  readonly auditResult?: (input: TInput, output: TOutput) => unknown;
  /**
   * Span attributes for the call (e.g. the OpenTelemetry GenAI `gen_ai.*` ones), set when it ends;
   * `output` is undefined when the call failed. Must not carry secrets. @default none
   */
  readonly traceAttributes?: (input: TInput, output?: TOutput) => Attributes;
  /**
   * The durable run a call acts on (`runs.cancel`'s run, an approval's run), recorded in its audit
   * entry so the run's audit lists who acted on it. Used only for a call made outside any run (one
   * made inside a run records that run); `output` is undefined when the call failed or was denied
   * after validation. Only for calls that change a run: a read tagged so would flood its audit.
   * @default none
   */
  readonly auditRun?: (input: TInput, output?: TOutput) => AuditRun | undefined;
  /** The model, tool and price version a successful call used, recorded with its usage. @default none */
  readonly usageLabels?: (input: TInput, output: TOutput) => UsageLabels;
  readonly handler: (input: TInput, ctx: SyscallContext) => Promise<TOutput> | TOutput;
}

const NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** Declares a syscall; validates its name so a bad definition fails at startup, not at call time. */
export function defineSyscall<TInput, TOutput>(
  definition: SyscallDefinition<TInput, TOutput>,
): SyscallDefinition<TInput, TOutput> {
  if (!NAME.test(definition.name)) {
    throw new TypeError(`syscall name "${definition.name}" must be dotted lower-case, e.g. "memory.search"`);
  }
  return definition;
}

/** Marks a schema as secret: its values are redacted from logs, audit entries, traces and errors. */
export function secret<TSchema extends z.ZodType>(schema: TSchema): TSchema {
  return schema.meta({ secret: true });
}

/**
 * Erases a definition's type parameters so definitions of different types can share one list.
 * Safe because the pipeline validates input with the definition's own schema before the handler runs.
 */
export function erase<TInput, TOutput>(
  definition: SyscallDefinition<TInput, TOutput>,
): SyscallDefinition<unknown, unknown> {
  return definition as unknown as SyscallDefinition<unknown, unknown>;
}
