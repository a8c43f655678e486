/**
 * @module memory/limits
 * Input limits and the validation of texts and messages, shared by the library and the syscalls.
 */
import { StrataError } from '../kernel/index.ts';
import type { SourceMessage } from './extract.ts';
import type { MessageInput } from './types.ts';

export const LIMITS = {
  /** Characters in one text or message. */
  textChars: 32_000,
  /** Messages in one add. */
  messages: 200,
  /** Characters in a query. */
  queryChars: 2_000,
  /** Lines in one import. */
  importLines: 1_000_000,
  /** Results in one search. */
  k: 100,
} as const;

export function checkText(text: string, what: string): string {
  if (text.trim().length === 0) throw new StrataError('E_INVALID_INPUT', `${what} is empty`);
  if (text.length > LIMITS.textChars) {
    throw new StrataError(
      'E_PAYLOAD_TOO_LARGE',
      `${what} has ${text.length} characters; the limit is ${LIMITS.textChars}: split it into several messages`,
      { limit: LIMITS.textChars, length: text.length },
    );
  }
  return text;
}

function timeOf(at: number | string | undefined, now: number, index: number): number {
  if (at === undefined) return now;
  const t = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(t)) {
    throw new StrataError('E_INVALID_INPUT', `messages[${index}].at is not a valid time`, { index });
  }
  return t;
}

/** Validates messages and gives each an id, a speaker and a time. */
export function sourceMessages(
  input: string | readonly MessageInput[],
  options: { now: number; newId: () => string },
): SourceMessage[] {
  const list: readonly MessageInput[] =
    typeof input === 'string' ? [{ role: 'user', content: input }] : input;
  if (list.length === 0) throw new StrataError('E_INVALID_INPUT', 'no messages to add');
  if (list.length > LIMITS.messages) {
    throw new StrataError(
      'E_PAYLOAD_TOO_LARGE',
      `${list.length} messages in one add; the limit is ${LIMITS.messages}`,
      { limit: LIMITS.messages },
    );
  }
  return list.map((m, i) => {
    checkText(m.content, typeof input === 'string' ? 'text' : `messages[${i}].content`);
    const role = m.role ?? 'user';
    const name = m.name?.trim();
    return {
      id: m.id ?? options.newId(),
      role,
      speaker: name !== undefined && name.length > 0 ? name : role,
      named: name !== undefined && name.length > 0,
      content: m.content,
      at: timeOf(m.at, options.now, i),
    };
  });
}
