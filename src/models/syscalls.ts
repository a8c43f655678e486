/**
 * @module models/syscalls
 * `model.generate`, `model.embed`, `model.list` and `model.capacity`: model calls through the kernel pipeline, so each
 * is capability-checked (resource `models/<provider>/<model>` or `models/<route>`), reserved against
 * the budget at its estimate, metered at its priced usage (which lands on the run that made it),
 * audited with the provider that answered and every failed attempt before it, and traced with the
 * OpenTelemetry GenAI attributes. Prompts and texts are marked secret: they never reach an audit
 * entry, a log line, a trace or an error.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineSyscall, erase, secret, type SyscallDefinition } from '../kernel/index.ts';
import type { ModelService } from './service.ts';
import { generateStreamed, type DeltaPublisher } from './streamed.ts';
import {
  finishReasonSchema,
  generateRequestSchema,
  messageSchema,
  toolCallSchema,
  usageSchema,
} from './types.ts';

const attemptSchema = z.object({ target: z.string(), outcome: z.string() });

const usedOf = (limit: z.ZodType) => z.object({ used: z.number(), limit });

/** One bucket of `model.capacity`; a null limit is unlimited, the account a key fingerprint. */
export const capacityEntrySchema = z.object({
  provider: z.string(),
  model: z.string(),
  account: z.string(),
  requests: usedOf(z.number().nullable()),
  tokens: usedOf(z.number().nullable()),
  concurrency: usedOf(z.number()),
  queued: z.number().int().nonnegative(),
  pausedUntil: z.iso.datetime().nullable(),
});

export const generateResultSchema = z.object({
  text: z.string(),
  toolCalls: z.array(toolCallSchema),
  finishReason: finishReasonSchema,
  usage: usageSchema,
  model: z.string(),
  target: z.string(),
  provider: z.string(),
  costMicros: z.number().int().nonnegative(),
  priced: z.boolean(),
  attempts: z.array(attemptSchema),
});

const generateInput = generateRequestSchema.extend({
  messages: secret(z.array(messageSchema).min(1).max(10_000)),
});

export interface ModelSyscallsOptions {
  /** When set, `model.generate` calls made by durable runs stream their text deltas to it. */
  readonly deltas?: DeltaPublisher;
}

/**
 * The price a call's cost came from: `models:` and a digest of the target's price-book entry, so
 * usage priced before and after a price change can be told apart (the book itself has no versions).
 */
function priceVersionOf(service: ModelService, target: string): { priceVersion?: string } {
  const price = service.config.prices[target];
  if (!price) return {};
  const digest = createHash('sha256').update(JSON.stringify(price)).digest('hex').slice(0, 12);
  return { priceVersion: `models:${digest}` };
}

export function modelSyscalls(
  service: ModelService,
  options: ModelSyscallsOptions = {},
): SyscallDefinition<unknown, unknown>[] {
  const estimate = (input: z.infer<typeof generateInput>): number => {
    try {
      return service.estimate(input).costMicros;
    } catch {
      return 0; // an unknown model fails in the handler, with its own clear error
    }
  };
  return [
    erase(
      defineSyscall({
        name: 'model.generate',
        description:
          'Calls a model (`<provider>/<model>` or a route with fallbacks): text, tool calls, finish reason, usage and cost.',
        input: generateInput,
        output: generateResultSchema,
        // A repeated call is a second paid call: the service retries inside, the pipeline does not.
        idempotency: 'unsafe',
        retry: { attempts: 1 },
        timeoutMs: 300_000,
        resource: (input) => `models/${input.model}`,
        estimateCost: estimate,
        actualCost: (_input, output) => output.costMicros,
        usageLabels: (_input, output) => ({
          model: output.target,
          ...priceVersionOf(service, output.target),
        }),
        auditResult: (_input, output) => ({
          target: output.target,
          finishReason: output.finishReason,
          usage: output.usage,
          costMicros: output.costMicros,
          attempts: output.attempts,
        }),
        traceAttributes: (input, output) => ({
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': input.model,
          ...(input.maxTokens === undefined ? {} : { 'gen_ai.request.max_tokens': input.maxTokens }),
          ...(input.temperature === undefined ? {} : { 'gen_ai.request.temperature': input.temperature }),
          ...(output
            ? {
                'gen_ai.provider.name': output.provider,
                'gen_ai.response.model': output.model,
                'gen_ai.response.finish_reasons': [output.finishReason],
                'gen_ai.usage.input_tokens': output.usage.inputTokens,
                'gen_ai.usage.output_tokens': output.usage.outputTokens,
              }
            : {}),
        }),
        handler: async (input, ctx) => {
          const call = { tenantId: ctx.tenantId, principalId: ctx.principal.id, signal: ctx.signal };
          const { runId, idempotencyKey } = ctx;
          const sink = runId && idempotencyKey ? options.deltas?.open({ runId, idempotencyKey }) : undefined;
          const result = sink
            ? await generateStreamed(service, input, call, sink)
            : await service.generate(input, call);
          return { ...result, toolCalls: [...result.toolCalls], attempts: [...result.attempts] };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'model.embed',
        description: 'Embeds texts with an embeddings model; one vector per text, in order.',
        input: z
          .object({ model: z.string().min(1).max(200), texts: secret(z.array(z.string()).min(1).max(2048)) })
          .strict(),
        output: z.object({
          vectors: z.array(z.array(z.number())),
          usage: usageSchema,
          model: z.string(),
          target: z.string(),
          costMicros: z.number().int().nonnegative(),
        }),
        idempotency: 'pure',
        resource: (input) => `models/${input.model}`,
        actualCost: (_input, output) => output.costMicros,
        usageLabels: (_input, output) => ({
          model: output.target,
          ...priceVersionOf(service, output.target),
        }),
        auditResult: (_input, output) => ({
          target: output.target,
          usage: output.usage,
          count: output.vectors.length,
        }),
        traceAttributes: (input, output) => ({
          'gen_ai.operation.name': 'embeddings',
          'gen_ai.request.model': input.model,
          ...(output ? { 'gen_ai.usage.input_tokens': output.usage.inputTokens } : {}),
        }),
        handler: async (input, ctx) => {
          const result = await service.embed(input.model, input.texts, {
            tenantId: ctx.tenantId,
            principalId: ctx.principal.id,
            signal: ctx.signal,
          });
          return { ...result, vectors: result.vectors.map((v) => [...v]) };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'model.list',
        description:
          'The models and routes this server can call, with their prices (USD per million tokens).',
        input: z.object({}).strict(),
        output: z.object({
          targets: z.array(z.string()),
          routes: z.record(z.string(), z.array(z.string())),
          embeddings: z.array(z.string()),
          prices: z.record(
            z.string(),
            z.object({ input: z.number(), output: z.number(), cachedInput: z.number().optional() }),
          ),
        }),
        idempotency: 'pure',
        resource: () => 'models',
        handler: () => ({ ...service.list(), prices: service.config.prices }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'model.capacity',
        description:
          'Admission state per (provider, model, account) bucket: requests, tokens and concurrency used of their limits, calls queued, and the Retry-After pause.',
        input: z.object({}).strict(),
        output: z.object({ buckets: z.array(capacityEntrySchema) }),
        idempotency: 'pure',
        resource: () => 'models',
        handler: () => ({
          buckets: service.capacity.snapshot().map((b) => ({
            ...b,
            pausedUntil: b.pausedUntil === null ? null : new Date(b.pausedUntil).toISOString(),
          })),
        }),
      }),
    ),
  ];
}
