/**
 * @module models/drivers/anthropic
 * The Messages API wire format through the official `@anthropic-ai/sdk`. System messages become the
 * top-level `system`, tool results become `tool_result` blocks in a user turn (consecutive turns of
 * one role are merged, as the API requires alternation), and a JSON-schema response format is a
 * forced tool whose input is the answer — the pattern Anthropic documents for structured output.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { chaosFetch } from '../../chaos-faults.ts';
import { badResponse, malformedToolCall, providerError } from '../../provider-errors.ts';
import type {
  FinishReason,
  Generation,
  ModelMessage,
  ModelProvider,
  ProviderRequest,
  StreamDelta,
  ToolCall,
  Usage,
} from '../../types.ts';

export interface AnthropicOptions {
  readonly name: string;
  /** @default https://api.anthropic.com */
  readonly baseUrl?: string;
  readonly apiKey?: string;
  readonly timeoutMs?: number;
  /** Anthropic requires max_tokens; used when a request sets none. @default 4096 */
  readonly defaultMaxTokens?: number;
}

type Block = Anthropic.Messages.ContentBlockParam;
type WireMessage = { role: 'user' | 'assistant'; content: Block[] };

const usageWire = z.object({
  input_tokens: z.number().int().nonnegative().nullish(),
  output_tokens: z.number().int().nonnegative().nullish(),
  cache_read_input_tokens: z.number().int().nonnegative().nullish(),
  cache_creation_input_tokens: z.number().int().nonnegative().nullish(),
});

const messageWire = z.object({
  model: z.string(),
  stop_reason: z.string().nullable(),
  content: z.array(
    z.union([
      z.object({ type: z.literal('text'), text: z.string() }),
      z.object({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() }),
      z.object({ type: z.string() }).loose(),
    ]),
  ),
  usage: usageWire,
});

const eventWire = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message_start'), message: z.object({ model: z.string(), usage: usageWire }) }),
  z.object({
    type: z.literal('content_block_start'),
    index: z.number().int(),
    content_block: z
      .object({ type: z.string(), id: z.string().optional(), name: z.string().optional() })
      .loose(),
  }),
  z.object({
    type: z.literal('content_block_delta'),
    index: z.number().int(),
    delta: z.object({ type: z.string(), text: z.string().optional(), partial_json: z.string().optional() }),
  }),
  z.object({ type: z.literal('content_block_stop'), index: z.number().int() }),
  z.object({
    type: z.literal('message_delta'),
    delta: z.object({ stop_reason: z.string().nullish() }),
    usage: usageWire.nullish(),
  }),
  z.object({ type: z.literal('message_stop') }),
  z.object({ type: z.literal('ping') }),
]);

const FINISH: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

function finishReason(wire: string | null | undefined, forcedFormat: boolean): FinishReason {
  // A forced response-format tool is the answer, not a tool call.
  if (wire === 'tool_use' && forcedFormat) return 'stop';
  return FINISH[wire ?? ''] ?? 'other';
}

function usageOf(wire: z.infer<typeof usageWire>, outputTokens?: number | null): Usage {
  const cached = wire.cache_read_input_tokens ?? 0;
  return {
    // The API counts cache reads and writes apart from input_tokens; Strata's input includes them.
    inputTokens: (wire.input_tokens ?? 0) + cached + (wire.cache_creation_input_tokens ?? 0),
    outputTokens: outputTokens ?? wire.output_tokens ?? 0,
    cachedInputTokens: cached,
  };
}

function blocksOf(message: ModelMessage): { role: 'user' | 'assistant'; blocks: Block[] } | undefined {
  switch (message.role) {
    case 'system':
      return undefined;
    case 'user':
      return { role: 'user', blocks: [{ type: 'text', text: message.content }] };
    case 'assistant':
      return {
        role: 'assistant',
        blocks: [
          ...(message.content ? [{ type: 'text' as const, text: message.content }] : []),
          ...(message.toolCalls ?? []).map((c) => ({
            type: 'tool_use' as const,
            id: c.id,
            name: c.name,
            input: (c.arguments ?? {}) as Record<string, unknown>,
          })),
        ],
      };
    case 'tool':
      return {
        role: 'user',
        blocks: [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }],
      };
  }
}

function toWireRequest(request: ProviderRequest, defaultMaxTokens: number) {
  const system = request.messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
  const messages: WireMessage[] = [];
  for (const message of request.messages) {
    const turn = blocksOf(message);
    if (!turn) continue;
    const last = messages.at(-1);
    if (last?.role === turn.role) last.content.push(...turn.blocks);
    else messages.push({ role: turn.role, content: turn.blocks });
  }
  const format = request.responseFormat;
  const tools = [
    ...(request.tools ?? []).map((t) => ({
      name: t.name,
      description: t.description,
      input_schema: t.parameters as Anthropic.Messages.Tool.InputSchema,
    })),
    ...(format
      ? [
          {
            name: format.name,
            description: 'Answer by calling this tool with the response as its input.',
            input_schema: format.schema as Anthropic.Messages.Tool.InputSchema,
          },
        ]
      : []),
  ];
  const choice = request.toolChoice;
  const toolChoice: Anthropic.Messages.ToolChoice | undefined = format
    ? { type: 'tool', name: format.name }
    : choice === undefined
      ? undefined
      : typeof choice === 'object'
        ? { type: 'tool', name: choice.name }
        : choice === 'required'
          ? { type: 'any' }
          : { type: choice };
  return {
    model: request.model,
    max_tokens: request.maxTokens ?? defaultMaxTokens,
    messages,
    ...(system ? { system } : {}),
    ...(tools.length ? { tools } : {}),
    ...(toolChoice ? { tool_choice: toolChoice } : {}),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.stop?.length ? { stop_sequences: request.stop } : {}),
  };
}

export function createAnthropicProvider(options: AnthropicOptions): ModelProvider {
  const { name } = options;
  const defaultMaxTokens = options.defaultMaxTokens ?? 4096;
  // The SDK (~250 modules) is loaded by the first call, not when the provider is configured:
  // every process that opens a runtime configures its providers; few of them call one.
  let client: Promise<Anthropic> | undefined;
  const clientOf = (): Promise<Anthropic> =>
    (client ??= import('@anthropic-ai/sdk').then(
      ({ default: Sdk }) =>
        new Sdk({
          apiKey: options.apiKey ?? 'not-needed',
          baseURL: options.baseUrl ?? 'https://api.anthropic.com',
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
      ).messages.create(toWireRequest(request, defaultMaxTokens), {
        signal: request.signal,
      });
    } catch (error) {
      throw providerError(name, error, request.signal);
    }
    const wire = check(messageWire, raw);
    const format = request.responseFormat?.name;
    let text = '';
    const toolCalls: ToolCall[] = [];
    for (const block of wire.content) {
      if (block.type === 'text' && 'text' in block) text += block.text as string;
      else if (block.type === 'tool_use' && 'id' in block) {
        const call = block as { id: string; name: string; input: unknown };
        // The wire format's tool input is a JSON object; anything else is a malformed tool call.
        if (typeof call.input !== 'object' || call.input === null || Array.isArray(call.input))
          throw malformedToolCall(name, 'tool call input is not a JSON object');
        if (call.name === format) text = JSON.stringify(call.input);
        else toolCalls.push({ id: call.id, name: call.name, arguments: call.input });
      }
    }
    return {
      text,
      toolCalls,
      finishReason: finishReason(wire.stop_reason, format !== undefined),
      usage: usageOf(wire.usage),
      model: wire.model,
    };
  }

  async function* stream(request: ProviderRequest): AsyncIterable<StreamDelta> {
    const format = request.responseFormat?.name;
    // Tool-use blocks by content index; `call` numbers them 0, 1, … like OpenAI's tool call index.
    const blocks = new Map<number, { id: string; name: string; json: string; call: number }>();
    let usage: Usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
    let startUsage: z.infer<typeof usageWire> = {};
    let reason: string | null | undefined;
    let model = request.model;
    const finished: ToolCall[] = [];
    try {
      const events = await (
        await clientOf()
      ).messages.create(
        { ...toWireRequest(request, defaultMaxTokens), stream: true },
        { signal: request.signal },
      );
      for await (const raw of events) {
        const event = check(eventWire, raw);
        switch (event.type) {
          case 'message_start':
            model = event.message.model;
            startUsage = event.message.usage;
            usage = usageOf(startUsage);
            break;
          case 'content_block_start':
            if (event.content_block.type === 'tool_use') {
              const block = {
                id: event.content_block.id ?? '',
                name: event.content_block.name ?? '',
                json: '',
                call: [...blocks.values()].filter((b) => b.name !== format).length,
              };
              blocks.set(event.index, block);
              // The response-format tool is the answer's text, not a call: it streams no call deltas.
              if (block.name !== format)
                yield {
                  type: 'tool_call_delta',
                  index: block.call,
                  id: block.id,
                  name: block.name,
                  arguments: '',
                };
            }
            break;
          case 'content_block_delta': {
            const block = blocks.get(event.index);
            if (event.delta.type === 'text_delta' && event.delta.text)
              yield { type: 'text', text: event.delta.text };
            else if (event.delta.type === 'input_json_delta' && block) {
              const piece = event.delta.partial_json ?? '';
              block.json += piece;
              if (piece && block.name !== format)
                yield { type: 'tool_call_delta', index: block.call, arguments: piece };
            }
            break;
          }
          case 'content_block_stop': {
            const block = blocks.get(event.index);
            if (!block) break;
            let input: unknown;
            try {
              input = block.json.trim() === '' ? {} : JSON.parse(block.json);
            } catch {
              throw malformedToolCall(name, 'tool input is not JSON');
            }
            if (block.name === format) yield { type: 'text', text: JSON.stringify(input) };
            else finished.push({ id: block.id, name: block.name, arguments: input });
            break;
          }
          case 'message_delta':
            reason = event.delta.stop_reason ?? reason;
            if (event.usage) usage = usageOf(startUsage, event.usage.output_tokens);
            break;
          case 'message_stop':
          case 'ping':
            break;
        }
      }
    } catch (error) {
      throw providerError(name, error, request.signal);
    }
    for (const toolCall of finished) yield { type: 'tool_call', toolCall };
    yield { type: 'finish', finishReason: finishReason(reason, format !== undefined), usage, model };
  }

  return { name, generate, stream };
}
