/**
 * @module models/prices
 * The price book: what a call costs, in micro-units (millionths of a dollar), from its usage. Prices
 * are USD per million tokens, so a token costs `price` micro-dollars; cached input is billed at its
 * own price when the book has one, else as input. Costs round up: metering never under-charges.
 */
import type { Price } from './config.ts';
import type { GenerateRequest, Usage } from './types.ts';

export function costMicros(price: Price | undefined, usage: Usage): number {
  if (!price) return 0;
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const raw =
    (usage.inputTokens - cached) * price.input +
    cached * (price.cachedInput ?? price.input) +
    usage.outputTokens * price.output;
  return Math.ceil(raw - 1e-9);
}

/** About four characters a token: the estimate used for limits and budget reservations. */
export function estimatePromptTokens(request: Pick<GenerateRequest, 'messages' | 'tools'>): number {
  let chars = 0;
  for (const m of request.messages) {
    chars += m.content.length;
    if (m.role === 'assistant' && m.toolCalls) chars += JSON.stringify(m.toolCalls).length;
  }
  if (request.tools) chars += JSON.stringify(request.tools).length;
  return Math.ceil(chars / 4);
}
