/**
 * @module models/config
 * The `models` section of Strata's configuration: providers (driver, endpoint, where the key comes
 * from, retries, rate limit, concurrency), routes (a name → an ordered fallback list of
 * `provider/model` targets), the price book, and the prompt limit. Validated here, so an error
 * names the bad key under `models.`.
 */
import { z } from 'zod';
import { StrataError } from '../kernel/index.ts';
import type { BucketLimits } from './limiter.ts';

const limit = (what: string) =>
  z
    .number({ error: `${what} must be a positive number` })
    .positive(`${what} must be a positive number`)
    .optional();

/** Admission limits of one (provider, model, account) bucket; a model's entry overrides its provider's. */
export const capacityLimitsSchema = z
  .object({
    requestsPerMinute: limit('requestsPerMinute'),
    tokensPerMinute: limit('tokensPerMinute'),
    maxConcurrency: limit('maxConcurrency').refine((n) => n === undefined || Number.isInteger(n), {
      message: 'maxConcurrency must be a whole number',
    }),
  })
  .strict();
export type CapacityLimits = z.infer<typeof capacityLimitsSchema>;

const target = z.string().regex(/^[a-z0-9][a-z0-9_-]*\/.+$/, 'targets are "<provider>/<model>"');

export const providerConfigSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'provider names are lower-case letters, digits, _ or -'),
    driver: z.enum(['openai-compatible', 'anthropic', 'scripted']),
    baseUrl: z.url().optional(),
    /** The vault entry holding the API key (preferred). */
    apiKeySecret: z.string().min(1).optional(),
    /** An environment variable holding the API key. */
    apiKeyEnv: z.string().min(1).optional(),
    /** Models this provider serves, as the provider names them. */
    models: z.array(z.string().min(1)).min(1),
    /** Models of this provider with an embeddings endpoint. */
    embeddingModels: z.array(z.string().min(1)).default([]),
    timeoutMs: z.number().int().positive().default(60_000),
    retry: z
      .object({
        attempts: z.number().int().min(1).max(10).default(3),
        baseDelayMs: z.number().int().nonnegative().default(250),
        maxDelayMs: z.number().int().nonnegative().default(8_000),
        /** A Retry-After longer than this goes to the next fallback instead of waiting. */
        maxRetryAfterMs: z.number().int().nonnegative().default(30_000),
      })
      .strict()
      .prefault({}),
    rateLimit: z
      .object({ requestsPerSecond: z.number().positive(), burst: z.number().int().positive() })
      .strict()
      .optional(),
    maxConcurrency: z.number().int().positive().default(16),
    /** Per-bucket limits (requests/min, tokens/min, concurrency), with per-model overrides. */
    capacity: capacityLimitsSchema
      .extend({ models: z.record(z.string(), capacityLimitsSchema).default({}) })
      .strict()
      .optional(),
    /** For the scripted driver: replies in order. */
    script: z
      .array(z.object({ text: z.string().optional(), finishReason: z.string().optional() }).strict())
      .optional(),
  })
  .strict();
export type ProviderConfig = z.infer<typeof providerConfigSchema>;

/** USD per million tokens (so a token costs that many micro-dollars). */
export const priceSchema = z
  .object({
    input: z.number().nonnegative(),
    output: z.number().nonnegative(),
    cachedInput: z.number().nonnegative().optional(),
  })
  .strict();
export type Price = z.infer<typeof priceSchema>;

export const modelsConfigSchema = z
  .object({
    providers: z.array(providerConfigSchema).default([]),
    routes: z.record(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/), z.array(target).min(1)).default({}),
    prices: z.record(target, priceSchema).default({}),
    /** Prompts estimated (about 4 characters a token) above this are refused. */
    maxPromptTokens: z.number().int().positive().default(200_000),
  })
  .strict()
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    for (const [i, p] of config.providers.entries()) {
      if (names.has(p.name))
        ctx.addIssue({ code: 'custom', path: ['providers', i, 'name'], message: 'duplicate' });
      names.add(p.name);
      for (const model of Object.keys(p.capacity?.models ?? {}))
        if (!p.models.includes(model) && !p.embeddingModels.includes(model))
          ctx.addIssue({
            code: 'custom',
            path: ['providers', i, 'capacity', 'models', model],
            message: `provider ${p.name} does not serve ${model}`,
          });
      if (p.driver !== 'scripted' && !p.baseUrl && p.driver === 'openai-compatible')
        ctx.addIssue({
          code: 'custom',
          path: ['providers', i, 'baseUrl'],
          message: 'required for openai-compatible',
        });
    }
    for (const [route, targets] of Object.entries(config.routes))
      for (const [i, t] of targets.entries())
        if (!names.has(t.split('/')[0] ?? ''))
          ctx.addIssue({
            code: 'custom',
            path: ['routes', route, i],
            message: `no provider ${t.split('/')[0]}`,
          });
  });
export type ModelsConfig = z.infer<typeof modelsConfigSchema>;

/** Parses the `models` config section; errors name the key (`models.providers.0.baseUrl`). */
export function parseModelsConfig(raw: unknown): ModelsConfig {
  const parsed = modelsConfigSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = ['models', ...(issue?.path ?? [])].join('.');
  throw new StrataError('E_CONFIG', `invalid config at ${key}: ${issue?.message ?? 'invalid'}`, { key });
}

/**
 * The limits of one (provider, model) bucket: the model's override, then the provider's
 * `capacity`, then the older `rateLimit` (per second, with a burst) and `maxConcurrency`.
 */
export function bucketLimits(provider: ProviderConfig, model: string): BucketLimits {
  const own = provider.capacity?.models[model];
  const rpm = own?.requestsPerMinute ?? provider.capacity?.requestsPerMinute;
  const tpm = own?.tokensPerMinute ?? provider.capacity?.tokensPerMinute;
  const concurrency = own?.maxConcurrency ?? provider.capacity?.maxConcurrency ?? provider.maxConcurrency;
  const requests =
    rpm !== undefined
      ? { requestsPerSecond: rpm / 60, requestBurst: rpm }
      : provider.rateLimit
        ? { requestsPerSecond: provider.rateLimit.requestsPerSecond, requestBurst: provider.rateLimit.burst }
        : { requestsPerSecond: Infinity, requestBurst: Infinity };
  return { ...requests, tokensPerMinute: tpm ?? Infinity, maxConcurrency: concurrency };
}
