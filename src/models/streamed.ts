/**
 * @module models/streamed
 * `model.generate` made by a durable run while a delta publisher is attached: the call streams, each
 * text delta and tool-call delta (id, name, arguments as they stream) goes to the publisher, and the result is assembled into exactly what `generate` returns
 * (text, tool calls, finish reason, usage, target, cost, attempts), so the journaled result is the
 * same either way, and an answer that came from a route's fallback says so in its attempts.
 *
 * A stream that fails with an error `generate` would retry (a refused request, a provider down, a
 * tool call whose arguments do not parse) is made again as a plain `generate` call, so streaming
 * never loses the service's retries and fallbacks. Before its first delta that is invisible; after
 * it (a malformed tool call is only known once its arguments have streamed) the sink is told to
 * discard the partial output first, and a sink that cannot (no `reset`) fails the call instead.
 */
import { isStrataError, StrataError } from '../kernel/index.ts';
import {
  withAttempts,
  type Attempt,
  type CallContext,
  type ModelResult,
  type ModelService,
  type StreamFinish,
} from './service.ts';
import type { GenerateRequest, StreamDelta, ToolCall } from './types.ts';

/** Publishes one run's model call as it streams (see orchestration/streaming). */
export interface DeltaPublisher {
  /** The sink of a call made by a run at a journal position; undefined when not streamed. */
  open(call: { runId: string; idempotencyKey: string }): DeltaSinkLike | undefined;
}

/** A piece of a tool call as it streams (see `StreamDelta`). */
export type ToolCallDeltaLike = Omit<Extract<StreamDelta, { type: 'tool_call_delta' }>, 'type'>;

export interface DeltaSinkLike {
  text(delta: string): void;
  /** A tool call's id, name or arguments text as it streams; sinks without it see text only. */
  toolCall?(delta: ToolCallDeltaLike): void;
  /** Discards what was published so far: the call is made again (its output may differ). */
  reset?(): void;
  /** Resolves when every delta given so far is published. */
  close(): Promise<void>;
}

/** The attempts a failed stream recorded (service.stream puts them in the error's data). */
const attemptsOf = (error: unknown): readonly Attempt[] =>
  (isStrataError(error) && (error.data as { attempts?: readonly Attempt[] } | undefined)?.attempts) || [];

export async function generateStreamed(
  service: ModelService,
  request: GenerateRequest,
  call: CallContext,
  sink: DeltaSinkLike,
): Promise<ModelResult> {
  let text = '';
  let started = false;
  const toolCalls: ToolCall[] = [];
  let finish: Extract<StreamDelta, { type: 'finish' }> | undefined;
  let priced: StreamFinish | undefined;
  try {
    for await (const delta of service.stream(request, { ...call, onFinish: (r) => (priced = r) })) {
      started = true;
      if (delta.type === 'text') {
        text += delta.text;
        sink.text(delta.text);
      } else if (delta.type === 'tool_call_delta') {
        const { type: _type, ...piece } = delta;
        sink.toolCall?.(piece);
      } else if (delta.type === 'tool_call') toolCalls.push(delta.toolCall);
      else finish = delta;
    }
  } catch (error) {
    if (call.signal?.aborted || !isStrataError(error) || !error.retryable) throw error;
    if (started && !sink.reset) throw error;
    if (started) sink.reset?.();
    // What failed while streaming stays in the result's attempts: a route's fallback shows.
    const failed = attemptsOf(error);
    try {
      const result = await service.generate(request, call);
      return { ...result, attempts: [...failed, ...result.attempts] };
    } catch (retryError) {
      throw withAttempts(retryError, [...failed, ...attemptsOf(retryError)]);
    }
  } finally {
    await sink.close();
  }
  if (!finish || !priced)
    throw new StrataError('E_MODEL_BAD_RESPONSE', 'the model stream ended without a finish event');
  const { target, costMicros, attempts } = priced;
  return {
    text,
    toolCalls,
    finishReason: finish.finishReason,
    usage: finish.usage,
    model: finish.model,
    target,
    provider: target.slice(0, target.indexOf('/')),
    costMicros,
    priced: service.config.prices[target] !== undefined,
    attempts: [...attempts],
  };
}
