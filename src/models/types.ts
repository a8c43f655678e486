/**
 * @module models/types
 * The one shape every model provider speaks: messages in; text, tool calls, a finish reason and
 * token usage out. Drivers translate it to and from their wire format (Chat Completions, Messages).
 */
import { z } from 'zod';

export const toolCallSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The arguments the model produced, parsed from JSON. */
  arguments: z.unknown(),
});
export type ToolCall = z.infer<typeof toolCallSchema>;

export const messageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string() }).strict(),
  z.object({ role: z.literal('user'), content: z.string() }).strict(),
  z
    .object({
      role: z.literal('assistant'),
      content: z.string().default(''),
      toolCalls: z.array(toolCallSchema).optional(),
    })
    .strict(),
  z.object({ role: z.literal('tool'), toolCallId: z.string().min(1), content: z.string() }).strict(),
]);
export type ModelMessage = z.infer<typeof messageSchema>;

export const toolSpecSchema = z
  .object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'tool names are 1-64 letters, digits, _ or -'),
    description: z.string().max(4096).default(''),
    /** JSON Schema of the tool's arguments (an object schema). */
    parameters: z.record(z.string(), z.unknown()).default({ type: 'object', properties: {} }),
  })
  .strict();
export type ToolSpec = z.infer<typeof toolSpecSchema>;

export const toolChoiceSchema = z.union([
  z.enum(['auto', 'none', 'required']),
  z.object({ name: z.string().min(1) }).strict(),
]);

export const responseFormatSchema = z
  .object({
    type: z.literal('json_schema'),
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
    schema: z.record(z.string(), z.unknown()),
  })
  .strict();

export const generateRequestSchema = z
  .object({
    /** `<provider>/<model>` or a configured route name (which may list fallbacks). */
    model: z.string().min(1).max(200),
    messages: z.array(messageSchema).min(1).max(10_000),
    tools: z.array(toolSpecSchema).max(128).optional(),
    toolChoice: toolChoiceSchema.optional(),
    responseFormat: responseFormatSchema.optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().positive().max(1_000_000).optional(),
    stop: z.array(z.string().min(1)).max(8).optional(),
  })
  .strict();
export type GenerateRequest = z.infer<typeof generateRequestSchema>;

export const finishReasonSchema = z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'other']);
export type FinishReason = z.infer<typeof finishReasonSchema>;

export const usageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  /** Input tokens served from the provider's prompt cache (a subset of inputTokens). */
  cachedInputTokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof usageSchema>;

/** What a driver returns for one call. */
export interface Generation {
  readonly text: string;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: Usage;
  /** The model the provider says answered (may be more specific than the one asked for). */
  readonly model: string;
}

/**
 * A piece of a streamed answer. The last one is always `finish`. `tool_call_delta` shows a tool
 * call as it streams: the first piece of call `index` (0, 1, … in answer order) carries its `id`
 * and `name`, later ones only more `arguments` text (concatenated, they are the call's JSON
 * arguments); the complete, parsed call follows as `tool_call` before `finish`.
 */
export type StreamDelta =
  | { readonly type: 'text'; readonly text: string }
  | {
      readonly type: 'tool_call_delta';
      readonly index: number;
      readonly id?: string;
      readonly name?: string;
      readonly arguments: string;
    }
  | { readonly type: 'tool_call'; readonly toolCall: ToolCall }
  | {
      readonly type: 'finish';
      readonly finishReason: FinishReason;
      readonly usage: Usage;
      readonly model: string;
    };

/** A driver's view of a request: the model is the provider's own model name. */
export interface ProviderRequest extends Omit<GenerateRequest, 'model'> {
  readonly model: string;
  readonly signal?: AbortSignal;
}

export interface Embeddings {
  readonly vectors: readonly (readonly number[])[];
  readonly usage: Usage;
  readonly model: string;
}

/** A model provider: one wire format, one endpoint, one credential. */
export interface ModelProvider {
  readonly name: string;
  generate(request: ProviderRequest): Promise<Generation>;
  stream(request: ProviderRequest): AsyncIterable<StreamDelta>;
  /** Present when the provider has an embeddings endpoint. */
  embed?(request: { model: string; texts: readonly string[]; signal?: AbortSignal }): Promise<Embeddings>;
}
