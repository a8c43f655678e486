/**
 * @module strata/models
 * One way for every layer to call a model, metered and audited like every syscall: the
 * `ModelProvider` interface; drivers for the OpenAI-compatible Chat Completions wire format, the
 * Anthropic Messages API and a scripted provider for tests and offline demos; routes with ordered
 * fallbacks; retries honouring Retry-After; capacity buckets per (provider, model, account) on
 * requests/min, tokens/min and concurrency, fair across tenants; a price book;
 * and the `model.*` syscalls.
 */
export const LAYER = { name: 'models', status: 'available', issue: 7 } as const;

export type {
  Embeddings,
  FinishReason,
  GenerateRequest,
  Generation,
  ModelMessage,
  ModelProvider,
  ProviderRequest,
  StreamDelta,
  ToolCall,
  ToolSpec,
  Usage,
} from './types.ts';
export { generateRequestSchema, messageSchema } from './types.ts';
export {
  bucketLimits,
  capacityLimitsSchema,
  modelsConfigSchema,
  parseModelsConfig,
  type CapacityLimits,
  type ModelsConfig,
  type Price,
  type ProviderConfig,
} from './config.ts';
export { costMicros } from './prices.ts';
export {
  accountOf,
  Capacity,
  type BucketKey,
  type CapacityEntry,
  type CapacityObserver,
} from './capacity.ts';
export { registerCapacityMetrics } from './capacity-metrics.ts';
export { capacityHealth } from './health.ts';
export { CapacityBucket, type Admission, type BucketLimits, type BucketState } from './limiter.ts';
export {
  ModelService,
  type Attempt,
  type EmbedResult,
  type ModelResult,
  type ModelServiceOptions,
} from './service.ts';
export {
  modelSyscalls,
  capacityEntrySchema,
  generateResultSchema,
  type ModelSyscallsOptions,
} from './syscalls.ts';
export { generateStreamed, type DeltaPublisher, type DeltaSinkLike } from './streamed.ts';
export {
  createOpenAICompatibleProvider,
  type OpenAICompatibleOptions,
} from './drivers/openai-compatible/index.ts';
export { createAnthropicProvider, type AnthropicOptions } from './drivers/anthropic/index.ts';
export {
  createScriptedProvider,
  type Script,
  type ScriptedProvider,
  type ScriptedReply,
} from './drivers/scripted/index.ts';
