/**
 * @module models/streamed
 * `model.generate` made by a durable run while a delta publisher is attached: the call streams, each
 * text delta and tool-call delta (id, name, arguments as they stream) goes to the publisher, and the result is assembled into exactly what `generate` returns
 * (text, tool calls, finish reason, usage, target, cost), so the journaled result is the same either
 * way. A stream that fails before its first delta with an error `generate` would retry or fall back
 * on is made again as a plain `generate` call, so streaming never loses the service's retries.
 */
import { isStrataError, StrataError } from '../kernel/index.ts';
import type { CallContext, ModelResult, ModelService } from './service.ts';
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
  /** Resolves when every delta given so far is published. */
  close(): Promise<void>;
}

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
  let priced: { target: string; costMicros: number } | undefined;
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
    if (started || call.signal?.aborted || !isStrataError(error) || !error.retryable) throw error;
    return service.generate(request, call);
  } finally {
    await sink.close();
  }
  if (!finish || !priced)
    throw new StrataError('E_MODEL_BAD_RESPONSE', 'the model stream ended without a finish event');
  const { target, costMicros } = priced;
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
    attempts: [{ target, outcome: 'ok' }],
  };
}
