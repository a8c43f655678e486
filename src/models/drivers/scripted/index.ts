/**
 * @module models/drivers/scripted
 * A deterministic provider for tests and the offline demo: answers come from a script (a list
 * consumed in order, or a function of the request). It reports usage like a real provider (given in
 * the script, else about four characters per token), so metering, price books and budgets are
 * exercised exactly as with a real model. Its embeddings are feature hashes of words: deterministic
 * and similarity-preserving for shared words, not semantic. Under chaos it realises the models layer's
 * named faults (429, 500, timeout, malformed tool call) as the HTTP drivers report them.
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../../../kernel/index.ts';
import { BROKEN_TOOL_JSON, scriptedFault, scriptedToolCallsBroken } from '../../chaos-faults.ts';
import { malformedToolCall } from '../../provider-errors.ts';
import type {
  Embeddings,
  FinishReason,
  Generation,
  ModelProvider,
  ProviderRequest,
  StreamDelta,
  ToolCall,
  Usage,
} from '../../types.ts';

export interface ScriptedReply {
  readonly text?: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly finishReason?: FinishReason;
  readonly usage?: Partial<Usage>;
  /** Throw this instead of answering (e.g. a StrataError with E_RATE_LIMITED). */
  readonly error?: unknown;
}

export type Script = readonly ScriptedReply[] | ((request: ProviderRequest, call: number) => ScriptedReply);

export interface ScriptedOptions {
  readonly name?: string;
  readonly script: Script;
  /** How long an answer may take (only an injected `model_timeout` fault waits). @default 60_000 */
  readonly timeoutMs?: number;
  /** Dimensions of the hashed embeddings. @default 64 */
  readonly dimensions?: number;
}

const tokensOf = (text: string): number => Math.ceil(text.length / 4);

export interface ScriptedProvider extends ModelProvider {
  /** The requests received, in order (for assertions). */
  readonly calls: readonly ProviderRequest[];
}

export function createScriptedProvider(options: ScriptedOptions): ScriptedProvider {
  const name = options.name ?? 'scripted';
  const dimensions = options.dimensions ?? 64;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const calls: ProviderRequest[] = [];

  function reply(request: ProviderRequest): Generation {
    calls.push(request);
    const n = calls.length;
    const { script } = options;
    const entry = typeof script === 'function' ? script(request, n) : script[n - 1];
    if (!entry)
      throw new StrataError('E_MODEL_BAD_RESPONSE', `${name}: no scripted reply left for call ${n}`, {
        provider: name,
      });
    if (entry.error !== undefined) throw entry.error as Error;
    const text = entry.text ?? '';
    const toolCalls = entry.toolCalls ?? [];
    const prompt = request.messages.map((m) => m.content).join('\n');
    return {
      text,
      toolCalls,
      finishReason: entry.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop'),
      usage: {
        inputTokens: entry.usage?.inputTokens ?? tokensOf(prompt),
        outputTokens: entry.usage?.outputTokens ?? tokensOf(text + JSON.stringify(toolCalls)),
        cachedInputTokens: entry.usage?.cachedInputTokens ?? 0,
      },
      model: request.model,
    };
  }

  async function* stream(request: ProviderRequest): AsyncIterable<StreamDelta> {
    await scriptedFault(name, { signal: request.signal, timeoutMs });
    const answer = reply(request);
    const broken = scriptedToolCallsBroken(answer.toolCalls.length);
    for (const piece of answer.text.match(/\S+\s*|\s+/g) ?? []) yield { type: 'text', text: piece };
    for (const [index, toolCall] of answer.toolCalls.entries()) {
      const { id, name } = toolCall;
      const args = broken ? BROKEN_TOOL_JSON : JSON.stringify(toolCall.arguments ?? {});
      yield { type: 'tool_call_delta', index, id, name, arguments: args };
    }
    // As a provider's stream: the broken arguments went out, then they do not parse.
    if (broken) throw malformedToolCall(name);
    for (const toolCall of answer.toolCalls) yield { type: 'tool_call', toolCall };
    yield { type: 'finish', finishReason: answer.finishReason, usage: answer.usage, model: answer.model };
  }

  function embed(request: { model: string; texts: readonly string[] }): Promise<Embeddings> {
    const vectors = request.texts.map((text) => {
      const v = new Array<number>(dimensions).fill(0);
      for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
        const h = createHash('sha256').update(word).digest();
        const i = h.readUInt16BE(0) % dimensions;
        v[i] = (v[i] ?? 0) + (((h[2] ?? 0) & 1) === 1 ? 1 : -1);
      }
      const norm = Math.hypot(...v) || 1;
      return v.map((x) => x / norm);
    });
    const inputTokens = request.texts.reduce((sum, t) => sum + tokensOf(t), 0);
    return Promise.resolve({
      vectors,
      usage: { inputTokens, outputTokens: 0, cachedInputTokens: 0 },
      model: request.model,
    });
  }

  return {
    name,
    calls,
    generate: async (request) => {
      await scriptedFault(name, { signal: request.signal, timeoutMs });
      const answer = reply(request);
      if (scriptedToolCallsBroken(answer.toolCalls.length)) throw malformedToolCall(name);
      return answer;
    },
    stream,
    embed,
  };
}
