/**
 * @module models/drivers/openai-compatible
 * The Chat Completions wire format through the official `openai` SDK: one driver for OpenAI, vLLM,
 * Ollama, llama.cpp server, LM Studio and most gateways. The SDK's own retries are off (the model
 * service retries, honouring Retry-After, and falls back across providers); every response is
 * checked against the wire format before it is trusted.
 */
import type OpenAI from 'openai';
import { z } from 'zod';
import { chaosFetch } from '../../chaos-faults.ts';
import { badResponse, malformedToolCall, providerError } from '../../provider-errors.ts';
import type {
  Embeddings,
  FinishReason,
  Generation,
  ModelMessage,
  ModelProvider,
  ProviderRequest,
  StreamDelta,
  ToolCall,
  Usage,
} from '../../types.ts';

export interface OpenAICompatibleOptions {
  /** The provider's name in Strata (`openai`, `local-vllm`, …). */
  readonly name: string;
  /** e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`. */
  readonly baseUrl: string;
  /** Local servers often need none. */
  readonly apiKey?: string;
  readonly timeoutMs?: number;
}

const usageWire = z
  .object({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative().default(0),
    prompt_tokens_details: z.object({ cached_tokens: z.number().int().nonnegative().optional() }).nullish(),
  })
  .nullish();

const completionWire = z.object({
  model: z.string(),
  choices: z
    .array(
      z.object({
        finish_reason: z.string().nullable(),
        message: z.object({
          content: z.string().nullable().optional(),
          tool_calls: z
            .array(
              z.object({ id: z.string(), function: z.object({ name: z.string(), arguments: z.string() }) }),
            )
            .nullish(),
        }),
      }),
    )
    .min(1),
  usage: usageWire,
});

const chunkWire = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        finish_reason: z.string().nullish(),
        delta: z
          .object({
            content: z.string().nullish(),
            tool_calls: z
              .array(
                z.object({
                  index: z.number().int(),
                  id: z.string().nullish(),
                  function: z
                    .object({ name: z.string().nullish(), arguments: z.string().nullish() })
                    .nullish(),
                }),
              )
              .nullish(),
          })
          .nullish(),
      }),
    )
    .default([]),
  usage: usageWire,
});

const embeddingsWire = z.object({
  model: z.string(),
  data: z.array(z.object({ index: z.number().int(), embedding: z.array(z.number()) })),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative() }).nullish(),
});

const FINISH: Readonly<Record<string, FinishReason>> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
};

const finishReason = (wire: string | null | undefined): FinishReason => FINISH[wire ?? ''] ?? 'other';

function usageOf(wire: z.infer<typeof usageWire>): Usage {
  return {
    inputTokens: wire?.prompt_tokens ?? 0,
    outputTokens: wire?.completion_tokens ?? 0,
    cachedInputTokens: wire?.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

function toWireMessage(message: ModelMessage): OpenAI.Chat.ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: JSON.stringify(c.arguments ?? {}) },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function toWireRequest(request: ProviderRequest): OpenAI.Chat.ChatCompletionCreateParamsNonStreaming {
  const { toolChoice, responseFormat } = request;
  return {
    model: request.model,
    messages: request.messages.map(toWireMessage),
    ...(request.tools?.length
      ? {
          tools: request.tools.map((t) => ({
            type: 'function' as const,
            function: { name: t.name, description: t.description, parameters: t.parameters },
          })),
        }
      : {}),
    ...(toolChoice === undefined
      ? {}
      : {
          tool_choice:
            typeof toolChoice === 'string'
              ? toolChoice
              : { type: 'function', function: { name: toolChoice.name } },
        }),
    ...(responseFormat
      ? {
          response_format: {
            type: 'json_schema',
            json_schema: { name: responseFormat.name, schema: responseFormat.schema, strict: true },
          },
        }
      : {}),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
    ...(request.stop?.length ? { stop: request.stop } : {}),
  };
}

function parseArguments(provider: string, text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw malformedToolCall(provider);
  }
}

export function createOpenAICompatibleProvider(options: OpenAICompatibleOptions): ModelProvider {
  const { name } = options;
  // The SDK (~250 modules) is loaded by the first call, not when the provider is configured:
  // every process that opens a runtime configures its providers; few of them call one.
  let client: Promise<OpenAI> | undefined;
  const clientOf = (): Promise<OpenAI> =>
    (client ??= import('openai').then(
      ({ default: Sdk }) =>
        new Sdk({
          apiKey: options.apiKey ?? 'not-needed',
          baseURL: options.baseUrl,
          maxRetries: 0,
          timeout: options.timeoutMs ?? 60_000,
          fetch: chaosFetch(name), // realises chaos's named faults (models/chaos-faults.ts); plain fetch otherwise
        }),
    ));
  const check = <T>(schema: z.ZodType<T>, value: unknown): T => {
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw badResponse(name, `unexpected shape at ${parsed.error.issues[0]?.path.join('.')}`);
    return parsed.data;
  };

  async function generate(request: ProviderRequest): Promise<Generation> {
    let raw: unknown;
    try {
      raw = await (
        await clientOf()
      ).chat.completions.create(toWireRequest(request), { signal: request.signal });
    } catch (error) {
      throw providerError(name, error, request.signal);
    }
    const wire = check(completionWire, raw);
    const choice = wire.choices[0] as (typeof wire.choices)[number];
    return {
      text: choice.message.content ?? '',
      toolCalls: (choice.message.tool_calls ?? []).map((c) => ({
        id: c.id,
        name: c.function.name,
        arguments: parseArguments(name, c.function.arguments),
      })),
      finishReason: finishReason(choice.finish_reason),
      usage: usageOf(wire.usage),
      model: wire.model,
    };
  }

  async function* stream(request: ProviderRequest): AsyncIterable<StreamDelta> {
    const partial = new Map<number, { id: string; name: string; args: string }>();
    let reason: FinishReason = 'other';
    let usage: Usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
    let model = request.model;
    try {
      const chunks = await (
        await clientOf()
      ).chat.completions.create(
        { ...toWireRequest(request), stream: true, stream_options: { include_usage: true } },
        { signal: request.signal },
      );
      for await (const raw of chunks) {
        const chunk = check(chunkWire, raw);
        if (chunk.model) model = chunk.model;
        if (chunk.usage) usage = usageOf(chunk.usage);
        for (const choice of chunk.choices) {
          if (choice.finish_reason) reason = finishReason(choice.finish_reason);
          if (choice.delta?.content) yield { type: 'text', text: choice.delta.content };
          for (const call of choice.delta?.tool_calls ?? []) {
            const seen = partial.get(call.index) ?? { id: '', name: '', args: '' };
            const piece = call.function?.arguments ?? '';
            if (call.id || call.function?.name || piece)
              yield {
                type: 'tool_call_delta',
                index: call.index,
                ...(call.id ? { id: call.id } : {}),
                ...(call.function?.name ? { name: call.function.name } : {}),
                arguments: piece,
              };
            seen.id ||= call.id ?? '';
            seen.name += call.function?.name ?? '';
            seen.args += call.function?.arguments ?? '';
            partial.set(call.index, seen);
          }
        }
      }
    } catch (error) {
      throw providerError(name, error, request.signal);
    }
    for (const [, call] of [...partial].sort(([a], [b]) => a - b)) {
      const toolCall: ToolCall = { id: call.id, name: call.name, arguments: parseArguments(name, call.args) };
      yield { type: 'tool_call', toolCall };
    }
    yield { type: 'finish', finishReason: reason, usage, model };
  }

  async function embed(request: {
    model: string;
    texts: readonly string[];
    signal?: AbortSignal;
  }): Promise<Embeddings> {
    let raw: unknown;
    try {
      raw = await (
        await clientOf()
      ).embeddings.create({ model: request.model, input: [...request.texts] }, { signal: request.signal });
    } catch (error) {
      throw providerError(name, error, request.signal);
    }
    const wire = check(embeddingsWire, raw);
    const vectors = [...wire.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
    if (vectors.length !== request.texts.length) throw badResponse(name, 'one embedding per input expected');
    const inputTokens = wire.usage?.prompt_tokens ?? 0;
    return { vectors, usage: { inputTokens, outputTokens: 0, cachedInputTokens: 0 }, model: wire.model };
  }

  return { name, generate, stream, embed };
}
