/**
 * @module models/service
 * One way for every layer to call a model. A request names `<provider>/<model>` or a route; the
 * service resolves the route's ordered targets, admits each call through its (provider, model,
 * account) capacity bucket (requests/min, tokens/min, concurrency; tenants served round-robin),
 * retries 429s (a Retry-After pauses the bucket for every caller) and 5xx with backoff and
 * jitter, falls back to the next
 * target when one gives up, and prices the usage from the price book. Every attempt is recorded in
 * the result, so the audit entry says which provider answered and what failed before it.
 *
 * Keys are looked up per tenant through `resolveSecret` (the vault), then an environment variable;
 * a key that is needed but missing is `E_MODEL_KEY_MISSING` naming the vault entry to create.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isStrataError, StrataError } from '../kernel/index.ts';
import type { ModelsConfig, ProviderConfig } from './config.ts';
import { createAnthropicProvider } from './drivers/anthropic/index.ts';
import { createOpenAICompatibleProvider } from './drivers/openai-compatible/index.ts';
import { createScriptedProvider } from './drivers/scripted/index.ts';
import { accountOf, Capacity, NO_ACCOUNT } from './capacity.ts';
import type { Admission } from './limiter.ts';
import { costMicros, estimatePromptTokens } from './prices.ts';
import type { Embeddings, GenerateRequest, Generation, ModelProvider, StreamDelta, Usage } from './types.ts';

export interface Attempt {
  readonly target: string;
  /** `ok`, or the error code of this attempt. */
  readonly outcome: string;
}

export interface ModelResult extends Generation {
  /** The `<provider>/<model>` that answered. */
  readonly target: string;
  readonly provider: string;
  readonly costMicros: number;
  /** False when the price book has no price for the target (the call is then metered at 0). */
  readonly priced: boolean;
  readonly attempts: readonly Attempt[];
}

/** What `stream` reports when its stream finishes: who answered, at what cost, after what. */
export interface StreamFinish {
  readonly target: string;
  readonly costMicros: number;
  readonly attempts: readonly Attempt[];
}

export interface EmbedResult extends Embeddings {
  readonly target: string;
  readonly costMicros: number;
}

export interface CallContext {
  readonly tenantId: string;
  /** The caller, for credentials scoped to one principal. */
  readonly principalId?: string;
  readonly signal?: AbortSignal;
}

export interface ModelServiceOptions {
  readonly config: ModelsConfig;
  /** Looks a secret up in the vault for the caller; undefined when there is none. */
  readonly resolveSecret?: (call: CallContext, name: string) => Promise<string | undefined>;
  /** Provider instances made in code (e.g. a scripted provider with a function), by provider name. */
  readonly providers?: Readonly<Record<string, ModelProvider>>;
  readonly env?: NodeJS.ProcessEnv;
}

interface Target {
  readonly provider: ProviderConfig;
  readonly model: string;
  readonly id: string;
}

/** A target with the account (key fingerprint) its calls are admitted under. */
interface Bound extends Target {
  readonly account: string;
}

/** Output tokens reserved for a call that sets no maxTokens (corrected with the real usage after). */
const DEFAULT_OUTPUT_RESERVE = 4096;

const total = (usage: Usage): number => usage.inputTokens + usage.outputTokens;

const FALLS_THROUGH = new Set([
  'E_RATE_LIMITED',
  'E_MODEL_UNAVAILABLE',
  'E_MODEL_BAD_RESPONSE',
  'E_MODEL_KEY_MISSING',
]);

export class ModelService {
  readonly config: ModelsConfig;
  readonly #options: ModelServiceOptions;
  /** Admission state per (provider, model, account): `model.capacity` and /metrics read it. */
  readonly capacity: Capacity;
  readonly #clients = new Map<string, ModelProvider>();

  constructor(options: ModelServiceOptions) {
    this.config = options.config;
    this.#options = options;
    this.capacity = new Capacity(options.config.providers);
  }

  /** Every `<provider>/<model>` and route this service serves. */
  list(): { targets: string[]; routes: Record<string, string[]>; embeddings: string[] } {
    const targets = this.config.providers.flatMap((p) => p.models.map((m) => `${p.name}/${m}`));
    const embeddings = this.config.providers.flatMap((p) => p.embeddingModels.map((m) => `${p.name}/${m}`));
    return { targets, routes: this.config.routes, embeddings };
  }

  /** The prompt estimate and the budget estimate (prompt plus maxTokens of output) in micro-units. */
  estimate(request: GenerateRequest): { promptTokens: number; costMicros: number } {
    const promptTokens = estimatePromptTokens(request);
    const first = this.#targets(request.model, 'generate')[0];
    const price = first ? this.config.prices[first.id] : undefined;
    const cost = costMicros(price, {
      inputTokens: promptTokens,
      outputTokens: request.maxTokens ?? DEFAULT_OUTPUT_RESERVE,
      cachedInputTokens: 0,
    });
    return { promptTokens, costMicros: cost };
  }

  async generate(request: GenerateRequest, call: CallContext): Promise<ModelResult> {
    this.#checkPromptSize(request);
    const attempts: Attempt[] = [];
    const tokens = estimatePromptTokens(request) + (request.maxTokens ?? DEFAULT_OUTPUT_RESERVE);
    let last: unknown;
    for (const target of this.#targets(request.model, 'generate')) {
      try {
        const { provider, account } = await this.#provider(target.provider, call);
        const generation = await this.#withRetries(
          { ...target, account },
          { attempts, call, tokens, used: (g: Generation) => total(g.usage) },
          (signal) => provider.generate({ ...request, model: target.model, signal }),
        );
        const price = this.config.prices[target.id];
        return {
          ...generation,
          target: target.id,
          provider: target.provider.name,
          costMicros: costMicros(price, generation.usage),
          priced: price !== undefined,
          attempts,
        };
      } catch (error) {
        last = error;
        if (!isStrataError(error) || !FALLS_THROUGH.has(error.code) || call.signal?.aborted) break;
        if (error.code === 'E_MODEL_KEY_MISSING') attempts.push({ target: target.id, outcome: error.code });
      }
    }
    throw withAttempts(last, attempts);
  }

  /**
   * Streams the first target that starts answering (fallback applies only before the first delta:
   * a stream that breaks midway fails, its error's `data.attempts` saying what failed). The last
   * delta is `finish` with usage; `onFinish` gets the priced result, with the attempts that led to
   * it, so the caller can meter it and tell a fallback from a first answer.
   */
  async *stream(
    request: GenerateRequest,
    call: CallContext & { onFinish?: (result: StreamFinish) => void },
  ): AsyncIterable<StreamDelta> {
    this.#checkPromptSize(request);
    const attempts: Attempt[] = [];
    let last: unknown;
    const tokens = estimatePromptTokens(request) + (request.maxTokens ?? DEFAULT_OUTPUT_RESERVE);
    for (const target of this.#targets(request.model, 'generate')) {
      const { provider, account } = await this.#provider(target.provider, call);
      const bound = { ...target, account };
      let admission: Admission;
      try {
        admission = await this.#admit(bound, call, tokens);
      } catch (error) {
        last = error;
        attempts.push({ target: target.id, outcome: isStrataError(error) ? error.code : 'E_INTERNAL' });
        if (isStrataError(error) && error.code === 'E_RATE_LIMITED') continue;
        break;
      }
      let started = false;
      let used: number | undefined;
      try {
        for await (const delta of provider.stream({ ...request, model: target.model, signal: call.signal })) {
          started = true;
          if (delta.type === 'finish') {
            used = total(delta.usage);
            attempts.push({ target: target.id, outcome: 'ok' });
            call.onFinish?.({
              target: target.id,
              costMicros: costMicros(this.config.prices[target.id], delta.usage),
              attempts,
            });
          }
          yield delta;
        }
        return;
      } catch (error) {
        last = error;
        attempts.push({ target: target.id, outcome: isStrataError(error) ? error.code : 'E_INTERNAL' });
        this.#pauseOn(bound, error);
        if (started || !isStrataError(error) || !FALLS_THROUGH.has(error.code)) break;
      } finally {
        admission.settle(used);
      }
    }
    throw withAttempts(last, attempts);
  }

  async embed(model: string, texts: readonly string[], call: CallContext): Promise<EmbedResult> {
    const attempts: Attempt[] = [];
    let last: unknown;
    const tokens = Math.ceil(texts.reduce((n, t) => n + t.length, 0) / 4);
    for (const target of this.#targets(model, 'embed')) {
      try {
        const { provider, account } = await this.#provider(target.provider, call);
        const embed = provider.embed?.bind(provider);
        if (!embed) throw new StrataError('E_UNKNOWN_MODEL', `${target.provider.name} has no embeddings`);
        const result = await this.#withRetries(
          { ...target, account },
          { attempts, call, tokens, used: (r: Embeddings) => total(r.usage) },
          (signal) => embed({ model: target.model, texts, signal }),
        );
        return {
          ...result,
          target: target.id,
          costMicros: costMicros(this.config.prices[target.id], result.usage),
        };
      } catch (error) {
        last = error;
        if (!isStrataError(error) || !FALLS_THROUGH.has(error.code) || call.signal?.aborted) break;
      }
    }
    throw withAttempts(last, attempts);
  }

  #checkPromptSize(request: GenerateRequest): void {
    const tokens = estimatePromptTokens(request);
    if (tokens > this.config.maxPromptTokens)
      throw new StrataError(
        'E_PROMPT_TOO_LARGE',
        `the prompt is about ${tokens} tokens; the limit is ${this.config.maxPromptTokens}`,
        { estimatedTokens: tokens, limit: this.config.maxPromptTokens },
      );
  }

  /** The ordered targets for a model name: a route's list, or one `<provider>/<model>`. */
  #targets(model: string, use: 'generate' | 'embed'): Target[] {
    const ids = this.config.routes[model] ?? [model];
    const targets: Target[] = [];
    for (const id of ids) {
      const slash = id.indexOf('/');
      const provider = this.config.providers.find((p) => p.name === id.slice(0, slash));
      const name = id.slice(slash + 1);
      const served = use === 'embed' ? provider?.embeddingModels : provider?.models;
      if (slash > 0 && provider && served?.includes(name)) targets.push({ provider, model: name, id });
    }
    if (targets.length === 0) {
      const known =
        use === 'embed'
          ? this.list().embeddings
          : [...this.list().targets, ...Object.keys(this.config.routes)];
      throw new StrataError(
        'E_UNKNOWN_MODEL',
        `no configured provider serves ${JSON.stringify(model.slice(0, 200))}; configured: ${known.join(', ') || 'none'}`,
        { model: model.slice(0, 200), configured: known },
      );
    }
    return targets;
  }

  /**
   * Waits for the target's bucket. A bucket a provider paused for longer than this target's
   * maxRetryAfterMs refuses at once (E_RATE_LIMITED), so a route falls back instead of waiting.
   */
  async #admit(target: Bound, call: CallContext, tokens: number): Promise<Admission> {
    const bucket = this.capacity.bucket(target.provider, target.model, target.account);
    const wait = bucket.pausedUntil - Date.now();
    if (wait > target.provider.retry.maxRetryAfterMs)
      throw new StrataError(
        'E_RATE_LIMITED',
        `${target.id} is paused by the provider's Retry-After for ${Math.ceil(wait / 1000)} s more`,
        { provider: target.provider.name, model: target.model, retryAfterMs: wait },
      );
    return this.capacity.acquire(target, { tenant: call.tenantId, tokens, signal: call.signal });
  }

  /** A 429 with Retry-After pauses the whole bucket: every caller waits, not only this one. */
  #pauseOn(target: Bound, error: unknown): number | undefined {
    if (!isStrataError(error) || error.code !== 'E_RATE_LIMITED') return undefined;
    const asked = (error.data as { retryAfterMs?: number } | undefined)?.retryAfterMs;
    if (asked !== undefined && asked > 0) this.capacity.pause(target, asked);
    return asked;
  }

  /**
   * Retries one target: a 429 re-queues behind the pause its Retry-After set (or waits a
   * backoff), 5xx and connection errors after backoff.
   */
  async #withRetries<T>(
    target: Bound,
    run: { attempts: Attempt[]; call: CallContext; tokens: number; used: (result: T) => number },
    fn: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    const { retry } = target.provider;
    const { attempts, call } = run;
    const signal = call.signal;
    for (let attempt = 1; ; attempt++) {
      let admission: Admission;
      try {
        admission = await this.#admit(target, call, run.tokens);
      } catch (error) {
        if (isStrataError(error)) attempts.push({ target: target.id, outcome: error.code });
        throw error;
      }
      let used: number | undefined;
      try {
        const result = await fn(signal);
        used = run.used(result);
        attempts.push({ target: target.id, outcome: 'ok' });
        return result;
      } catch (error) {
        const code = isStrataError(error) ? error.code : 'E_INTERNAL';
        attempts.push({ target: target.id, outcome: code });
        const asked = this.#pauseOn(target, error);
        if (!isStrataError(error) || !error.retryable || attempt >= retry.attempts || signal?.aborted)
          throw error;
        if (asked !== undefined && asked > retry.maxRetryAfterMs) throw error;
        // With a Retry-After the next acquire waits out the bucket's pause; otherwise back off.
        const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
        if (asked === undefined) await sleep(Math.random() * ceiling, undefined, { signal });
      } finally {
        admission.settle(used);
      }
    }
  }

  async #provider(
    config: ProviderConfig,
    call: CallContext,
  ): Promise<{ provider: ModelProvider; account: string }> {
    const injected = this.#options.providers?.[config.name];
    if (injected) return { provider: injected, account: NO_ACCOUNT };
    const apiKey = await this.#apiKey(config, call);
    const cacheKey = `${config.name}:${apiKey ? createHash('sha256').update(apiKey).digest('hex') : ''}`;
    let provider = this.#clients.get(cacheKey);
    if (!provider) {
      const common = { name: config.name, apiKey, timeoutMs: config.timeoutMs };
      switch (config.driver) {
        case 'openai-compatible':
          provider = createOpenAICompatibleProvider({ ...common, baseUrl: config.baseUrl ?? '' });
          break;
        case 'anthropic':
          provider = createAnthropicProvider({ ...common, baseUrl: config.baseUrl });
          break;
        case 'scripted':
          provider = createScriptedProvider({
            name: config.name,
            timeoutMs: config.timeoutMs,
            script: (config.script ?? []).map((s) => ({ text: s.text })),
          });
          break;
      }
      this.#clients.set(cacheKey, provider);
    }
    return { provider, account: accountOf(apiKey) };
  }

  async #apiKey(config: ProviderConfig, call: CallContext): Promise<string | undefined> {
    if (config.apiKeySecret) {
      const value = await this.#options.resolveSecret?.(call, config.apiKeySecret);
      if (value) return value;
    }
    if (config.apiKeyEnv) {
      const value = (this.#options.env ?? process.env)[config.apiKeyEnv];
      if (value) return value;
    }
    if (config.apiKeySecret || config.apiKeyEnv)
      throw new StrataError(
        'E_MODEL_KEY_MISSING',
        `provider ${config.name} needs an API key: create the vault entry "${config.apiKeySecret ?? config.name}"` +
          (config.apiKeyEnv ? ` or set ${config.apiKeyEnv}` : ''),
        { provider: config.name, secret: config.apiKeySecret ?? config.name, env: config.apiKeyEnv },
      );
    return undefined;
  }
}

/** `error` with `attempts` as its `data.attempts` (StrataErrors only; others pass through). */
export function withAttempts(error: unknown, attempts: readonly Attempt[]): unknown {
  if (!isStrataError(error) || attempts.length === 0) return error;
  const data = { ...(error.data as Record<string, unknown> | undefined), attempts };
  return new StrataError(error.code, error.message, data, { retryable: error.retryable });
}
