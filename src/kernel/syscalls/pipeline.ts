/**
 * @module kernel/syscalls/pipeline
 * The one path every syscall takes, whatever surface it came from:
 *
 *   validate → authorize (capabilities; denials audited) → journal recall → budget reserve
 *     → execute (timeout; retry by error class) → validate output → budget commit → meter
 *     → audit (hash chain, committed before returning) → trace span → journal record
 *
 * An audit entry names the durable run the call was made in (`CallOptions.runId`, with its root),
 * or, for a call from outside any run, the run the definition says it acts on (`auditRun`).
 *
 * Chaos (fault injection, kernel/chaos): when an injector is enabled, each attempt first asks it for
 * latency, an injected error or a named fault (realised by the driver under the handler); the faults
 * land in the call's audit detail (`faults`) and span (`strata.chaos.*`). Off, it costs one boolean.
 *
 * Secrets: input paths marked `secret()` are redacted before the audit entry, the log line and the
 * span are built, and their values are scrubbed from any error that leaves the pipeline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AuditOutcome } from '../audit/entry.ts';
import type { CapabilityAuthority } from '../auth/capabilities.ts';
import { matches } from '../auth/grants.ts';
import type { Principal } from '../auth/principal.ts';
import type { Clock } from '../clock.ts';
import { coerceError, StrataError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { ChaosCall, ChaosInjector } from '../chaos/injector.ts';
import { runWithFault } from '../chaos/scope.ts';
import type { Logger } from '../logger.ts';
import type { KernelMetrics } from '../metrics.ts';
import type {
  BudgetHook,
  BudgetReservation,
  JournalHook,
  JournalRef,
  MeterHook,
  RunAttribution,
  UsageLabels,
} from './hooks.ts';
import { auditDetail, auditResultOf, auditRunOf } from './audit-record.ts';
import { redactInput, scrub, secretValues } from './redact.ts';
import type { RegisteredSyscall, SyscallRegistry } from './registry.ts';

export interface CallOptions {
  readonly principal: Principal;
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
  readonly journal?: JournalRef;
  readonly runId?: string;
  /** Set by the engine for calls made by a durable run: recorded with the call's usage. */
  readonly attribution?: RunAttribution;
  /**
   * A read repeated on the caller's behalf by something already audited: a dashboard's live view
   * rendered again after events, for a stream whose opening was. On success a `pure` syscall then
   * writes no audit entry, and no usage record when it cost nothing; a denial or a failure is
   * recorded as always, and for any other syscall the option changes nothing. Server code sets it;
   * no request can (see web/live-render.ts).
   */
  readonly quiet?: boolean;
}

export interface PipelineDeps {
  readonly registry: SyscallRegistry;
  readonly authority: CapabilityAuthority;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: KernelMetrics;
  readonly budget: BudgetHook;
  readonly journal: JournalHook;
  readonly meter: MeterHook;
  readonly tracer?: Tracer;
  readonly chaos?: ChaosInjector;
}

/** What an attempt runs with: the call's options and, when chaos is on, the call's chaos. */
type ExecOptions = CallOptions & { readonly chaos?: ChaosCall };

function zodIssues(error: z.ZodError, secrets: readonly string[]): { path: string; message: string }[] {
  return error.issues
    .slice(0, 20)
    .map((i) => ({ path: i.path.join('.'), message: scrub(i.message, secrets) }));
}

/** Rebuilds an error with every secret value scrubbed from its message and data; drops the cause. */
function scrubError(error: StrataError, secrets: readonly string[]): StrataError {
  if (secrets.length === 0) return error;
  const data =
    error.data === undefined
      ? undefined
      : (JSON.parse(scrub(JSON.stringify(error.data), secrets)) as unknown);
  return new StrataError(error.code, scrub(error.message, secrets), data, { retryable: error.retryable });
}

/** Sets the definition's span attributes; a failing function must not fail the call. */
function traceAttributesOf(
  span: Span,
  definition: { traceAttributes?: (input: unknown, output?: unknown) => Attributes },
  input: unknown,
  output: unknown,
): void {
  if (!definition.traceAttributes) return;
  try {
    span.setAttributes(definition.traceAttributes(input, output));
  } catch {
    span.setAttribute('strata.trace_attributes_error', true);
  }
}

/** The definition's usage labels; a failing function must not fail the call. */
function usageLabelsOf(
  definition: { usageLabels?: (input: unknown, output: unknown) => UsageLabels },
  input: unknown,
  output: unknown,
): UsageLabels | undefined {
  try {
    return definition.usageLabels?.(input, output);
  } catch {
    return undefined;
  }
}

export class SyscallPipeline {
  readonly #d: PipelineDeps;
  readonly #tracer: Tracer;

  constructor(deps: PipelineDeps) {
    this.#d = deps;
    this.#tracer = deps.tracer ?? trace.getTracer('strata');
  }

  async call(name: string, rawInput: unknown, options: CallOptions): Promise<unknown> {
    const d = this.#d;
    const entry = d.registry.get(name);
    const { definition } = entry;
    const { principal } = options;
    const secrets = entry.secretPaths.length ? secretValues(rawInput, entry.secretPaths) : [];
    // A caller holding no grant for this syscall is denied (and audited) before validation, so it
    // learns nothing of the schema; the full check (resource, constraints) follows validation.
    if (!principal.grants.some((g) => matches(g.syscall, name, '.'))) {
      await this.#deny(name, rawInput, entry, options);
    }
    const parsed = definition.input.safeParse(rawInput);
    if (!parsed.success) {
      throw new StrataError('E_INVALID_INPUT', `invalid input for ${name}`, {
        issues: zodIssues(parsed.error, secrets),
      });
    }
    const input = parsed.data;
    const started = performance.now();
    const resource = definition.resource?.(input) ?? name.replaceAll('.', '/');
    const estimate = (await definition.estimateCost?.(input, { tenantId: principal.tenantId })) ?? 0;
    const redacted = entry.secretPaths.length ? redactInput(input, entry.secretPaths) : input;
    const span = this.#tracer.startSpan(`syscall ${name}`, {
      attributes: {
        'strata.syscall': name,
        'strata.tenant': principal.tenantId,
        'strata.resource': resource,
      },
    });
    let chaos: ChaosCall | undefined = undefined; // set once the call gets past authorization
    const quiet = options.quiet === true && definition.idempotency === 'pure';
    const finish = async (
      outcome: AuditOutcome,
      error: StrataError | null,
      costMicros: number,
      done?: { output: unknown; result: unknown },
    ): Promise<void> => {
      const durationUs = Math.round((performance.now() - started) * 1000);
      d.metrics.syscalls.inc({ syscall: name, outcome });
      d.metrics.duration.observe({ syscall: name }, durationUs / 1e6);
      if (error) d.metrics.syscallErrors.inc({ syscall: name, code: error.code });
      span.setAttribute('strata.outcome', outcome);
      if (error) {
        span.setAttribute('strata.error_code', error.code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
      }
      const faults = chaos?.marks() ?? [];
      if (faults.length > 0) {
        span.setAttribute('strata.chaos.faults', faults.length);
        span.setAttribute(
          'strata.chaos.kinds',
          faults.map((f) => f.kind),
        );
      }
      try {
        if (quiet && outcome === 'ok') return;
        await d.audit.append({
          id: newId('aud', d.clock.now()),
          tenantId: principal.tenantId,
          ts: d.clock.now(),
          principalId: principal.id,
          action: name,
          resource,
          outcome,
          errorCode: error?.code ?? null,
          detail: faults.length
            ? { ...auditDetail(redacted, done?.result), faults }
            : auditDetail(redacted, done?.result),
          durationUs,
          costMicros,
          ...auditRunOf(options, definition, input, done?.output),
        });
      } finally {
        span.end();
      }
    };

    try {
      d.authority.authorize(principal, { syscall: name, resource, input, costMicros: estimate });
    } catch (error) {
      const denied = scrubError(coerceError(error), secrets);
      await finish('denied', denied, 0);
      throw denied;
    }

    if (options.journal) {
      const recalled = await d.journal.recall(options.journal);
      if (recalled) {
        d.metrics.syscalls.inc({ syscall: name, outcome: 'replayed' });
        span.setAttribute('strata.outcome', 'replayed');
        span.end();
        return recalled.output;
      }
    }

    let reservation: BudgetReservation | null = null;
    // After authorization and journal recall, so denied and replayed calls draw nothing.
    chaos = d.chaos?.enabled ? d.chaos.begin(name) : undefined;
    try {
      reservation = await d.budget.reserve({
        principal,
        syscall: name,
        resource,
        estimateMicros: estimate,
        runId: options.runId,
        rootRunId: options.attribution?.rootId,
        project: options.attribution?.project,
      });
      const output = await this.#execute(entry, input, chaos ? { ...options, chaos } : options);
      traceAttributesOf(span, definition, input, output);
      const cost = definition.actualCost?.(input, output) ?? estimate;
      if (reservation) await d.budget.commit(reservation, cost);
      d.metrics.costMicros.inc({ syscall: name }, cost);
      if (!(quiet && cost === 0))
        await d.meter.record({
          tenantId: principal.tenantId,
          principalId: principal.id,
          syscall: name,
          resource,
          costMicros: cost,
          durationUs: Math.round((performance.now() - started) * 1000),
          ok: true,
          runId: options.runId,
          principalKind: principal.kind,
          idempotencyKey: options.idempotencyKey,
          attribution: options.attribution,
          labels: usageLabelsOf(definition, input, output),
        });
      await finish('ok', null, cost, { output, result: auditResultOf(definition, input, output) });
      if (options.journal) await d.journal.record(options.journal, output);
      return output;
    } catch (error) {
      const failure = scrubError(coerceError(error), secrets);
      traceAttributesOf(span, definition, input, undefined);
      if (reservation) await d.budget.release(reservation, failure.code).catch(() => undefined);
      d.logger.warn(
        { syscall: name, tenant: principal.tenantId, code: failure.code, message: failure.message },
        'syscall failed',
      );
      await finish('error', failure, 0);
      throw failure;
    }
  }

  /** Audits a denial by syscall name (before the input is validated) and throws E_CAPABILITY_DENIED. */
  async #deny(
    name: string,
    rawInput: unknown,
    entry: RegisteredSyscall,
    options: CallOptions,
  ): Promise<never> {
    const d = this.#d;
    const { principal } = options;
    const error = new StrataError('E_CAPABILITY_DENIED', `no capability grants ${name}`, { syscall: name });
    d.metrics.syscalls.inc({ syscall: name, outcome: 'denied' });
    d.metrics.syscallErrors.inc({ syscall: name, code: error.code });
    await d.audit.append({
      id: newId('aud', d.clock.now()),
      tenantId: principal.tenantId,
      ts: d.clock.now(),
      principalId: principal.id,
      action: name,
      resource: name.replaceAll('.', '/'),
      outcome: 'denied',
      errorCode: error.code,
      detail: auditDetail(entry.secretPaths.length ? redactInput(rawInput, entry.secretPaths) : rawInput),
      durationUs: 0,
      costMicros: 0,
      // The input is not validated yet: only the run the call was made in, never one named in it.
      ...auditRunOf(options, {}, undefined),
    });
    throw error;
  }

  /** Runs the handler with a timeout per attempt, retrying retryable errors when the class allows. */
  async #execute(entry: RegisteredSyscall, input: unknown, options: ExecOptions): Promise<unknown> {
    const { definition, retry } = entry;
    const mayRetry = definition.idempotency !== 'unsafe' || options.idempotencyKey !== undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const output = await this.#attempt(entry, input, options, attempt);
        const checked = definition.output.safeParse(output);
        if (!checked.success) {
          throw new StrataError(
            'E_INTERNAL',
            `syscall ${definition.name} returned output that does not match its schema`,
            {
              issues: checked.error.issues
                .slice(0, 5)
                .map((i) => ({ path: i.path.join('.'), message: i.message })),
            },
          );
        }
        return checked.data;
      } catch (error) {
        const failure = coerceError(error);
        if (!failure.retryable || !mayRetry || attempt >= retry.attempts || options.signal?.aborted)
          throw failure;
        this.#d.metrics.retries.inc({ syscall: definition.name });
        const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
        await sleep(Math.random() * ceiling, undefined, { signal: options.signal });
      }
    }
  }

  async #attempt(
    entry: RegisteredSyscall,
    input: unknown,
    options: ExecOptions,
    attempt: number,
  ): Promise<unknown> {
    const { definition, timeoutMs } = entry;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new StrataError(
          'E_SYSCALL_TIMEOUT',
          `${definition.name} timed out after ${timeoutMs} ms`,
          { timeoutMs },
        );
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    try {
      const ctx = {
        principal: options.principal,
        tenantId: options.principal.tenantId,
        clock: this.#d.clock,
        logger: this.#d.logger,
        signal: controller.signal,
        attempt,
        idempotencyKey: options.idempotencyKey,
        runId: options.runId,
      };
      const { chaos } = options;
      const run = chaos
        ? async (): Promise<unknown> => {
            // Always a scope of its own, so a syscall called by this handler never takes its fault.
            const planned = await chaos.before(attempt, controller.signal);
            return runWithFault(planned, () => Promise.resolve(definition.handler(input, ctx)));
          }
        : () => definition.handler(input, ctx);
      return await Promise.race([Promise.resolve().then(run), timeout]);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }
}
