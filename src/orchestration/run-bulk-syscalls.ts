/**
 * @module orchestration/run-bulk-syscalls
 * `runs.count` and `runs.bulk`: the operator's "cancel / retry every run matching this filter",
 * with a preview. The operator counts first (`runs.count`), sees "42 runs", and confirms; the bulk
 * call carries that count as `expect` and is refused with E_CONFLICT (and the new count) if the
 * matching set has grown or shrunk since, because then the preview they agreed to is stale.
 *
 * Each run is then cancelled or retried through the kernel, as `runs.cancel` / `runs.retry` by the
 * same principal: its capability check (a grant on `runs/<id>` or not) and its audit entry are the
 * single-run ones, so a bulk action can do nothing a run-by-run one could not, and the audit chain
 * shows each run acted on. The bulk call itself is audited once, with its filter and its tallies.
 * A run that refuses (already finished, denied, gone) is reported in `skipped` with its code; the
 * others go on.
 */
import { z } from 'zod';
import { isStrataError, StrataError } from '../kernel/index.ts';
import { defineSyscall, erase, type SyscallDefinition } from '../kernel/syscalls/define.ts';
import type { Engine } from './engine.ts';
import { checkWindow, runFilterSchema, type RunFilter } from './run-query.ts';

/** Counts stop here (a preview says "more than 100,000"). */
export const COUNT_CAP = 100_000;
/** Runs one bulk call acts on at most. */
export const BULK_MAX = 1000;

export const countInputSchema = runFilterSchema.superRefine(checkWindow);

const countSchema = z.object({ count: z.number().int(), capped: z.boolean() });

const bulkOutputSchema = z.object({
  done: z.array(z.string()),
  skipped: z.array(z.object({ id: z.string(), code: z.string() })),
  /** Matching runs left over when more matched than `limit`. */
  remaining: z.number().int(),
});

/** `runs` or, when the filter names a workflow, `runs/<workflow>` (as `runs.list`). */
const resourceOf = (filter: RunFilter): string =>
  filter.workflow === undefined ? 'runs' : `runs/${filter.workflow}`;

export function runBulkSyscalls(engine: Engine): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'runs.count',
        description: `Counts the caller tenant’s runs matching a runs.list filter, up to ${COUNT_CAP} (then capped: true): the preview of a bulk action.`,
        input: countInputSchema,
        output: countSchema,
        idempotency: 'pure',
        resource: resourceOf,
        handler: (input, ctx) => engine.count(ctx.tenantId, input, COUNT_CAP),
      }),
    ),
    erase(
      defineSyscall({
        name: 'runs.bulk',
        description:
          'Cancels or retries the runs matching a filter, each as runs.cancel / runs.retry would (grants and audit per run), only if runs.count still gives `expect`; else E_CONFLICT with the new count.',
        input: z
          .object({
            action: z.enum(['cancel', 'retry']),
            filter: countInputSchema,
            expect: z.number().int().nonnegative().max(COUNT_CAP),
            limit: z.number().int().min(1).max(BULK_MAX).default(BULK_MAX),
          })
          .strict(),
        output: bulkOutputSchema,
        idempotency: 'unsafe',
        // 1,000 audited single-run calls; a call that times out stops before its next run.
        timeoutMs: 300_000,
        resource: (input) => resourceOf(input.filter),
        auditResult: (_input, output) => ({
          done: output.done.length,
          skipped: output.skipped.length,
          remaining: output.remaining,
        }),
        handler: async (input, ctx) => {
          const { count, capped } = await engine.count(ctx.tenantId, input.filter, COUNT_CAP);
          if (count !== input.expect)
            throw new StrataError(
              'E_CONFLICT',
              `${count}${capped ? '+' : ''} runs match this filter now, not ${input.expect}: preview again before acting`,
              { count, capped, expected: input.expect },
            );
          const runs = await engine.list(ctx.tenantId, { ...input.filter, limit: input.limit });
          const done: string[] = [];
          const skipped: { id: string; code: string }[] = [];
          const { principal, signal } = ctx;
          for (const run of runs) {
            signal.throwIfAborted();
            try {
              await engine.kernel.call(`runs.${input.action}`, { runId: run.id }, { principal, signal });
              done.push(run.id);
            } catch (error) {
              if (!isStrataError(error)) throw error;
              skipped.push({ id: run.id, code: error.code });
            }
          }
          return { done, skipped, remaining: Math.max(count - runs.length, 0) };
        },
      }),
    ),
  ];
}
