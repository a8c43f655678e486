/**
 * `waitForMail(ctx, query)`: a durable run waits for an inbound message without holding a process.
 * Three journaled parts: `mail.waits.create` (bound to the run; a stored match returns at once),
 * `ctx.waitFor('mail:<id>')` (the run suspends; the mail service signals it when a message
 * matches, after a restart too), then `mail.get`. On timeout the wait is cancelled; if the message
 * won the race with the deadline, it is returned instead of E_WAIT_TIMEOUT.
 *
 * @example
 * ```ts
 * await ctx.mail.send({ mailbox: 'bot@example.com', to: 'ops@example.com', subject: 'Approve #42?', text });
 * const reply = await waitForMail(ctx, { mailbox: 'bot@example.com', from: 'ops@example.com', timeoutMs: 3 * 86_400_000 });
 * ```
 */
import { isStrataError, StrataError } from '../../kernel/index.ts';

/** What `waitForMail` needs of a workflow context (any `WorkflowContext` has it). */
export interface MailWaitingContext {
  syscall<T = unknown>(name: string, input: unknown): Promise<T>;
  waitFor<T = unknown>(signal: string, options?: { timeoutMs?: number }): Promise<T>;
}

export interface WaitForMailQuery {
  /** Mailbox id or address. */
  readonly mailbox: string;
  /** The sender's address, or `@domain`. */
  readonly from?: string;
  /** Words the subject contains (case-insensitive). */
  readonly subject?: string;
  /** A thread id the message must belong to. */
  readonly thread?: string;
  /** Match messages received since (ISO time or epoch ms). @default when the wait is registered */
  readonly since?: string | number;
  /** Give up after this long with E_WAIT_TIMEOUT. @default no limit */
  readonly timeoutMs?: number;
}

/** The message as `mail.get` returns it. */
export interface ReceivedMail {
  readonly id: string;
  readonly threadId: string;
  readonly subject: string;
  readonly from: { readonly address: string; readonly name: string | null };
  readonly text: string;
  readonly authenticated: boolean;
  readonly [field: string]: unknown;
}

type WaitAnswer = { id: string; signal: string; status: string; messageId: string | null };

export async function waitForMail(ctx: MailWaitingContext, query: WaitForMailQuery): Promise<ReceivedMail> {
  const { timeoutMs, ...match } = query;
  const wait = await ctx.syscall<WaitAnswer>('mail.waits.create', match);
  let messageId = wait.messageId;
  if (messageId === null) {
    try {
      messageId = (
        await ctx.waitFor<{ messageId: string }>(wait.signal, timeoutMs === undefined ? {} : { timeoutMs })
      ).messageId;
    } catch (error) {
      if (!isStrataError(error) || error.code !== 'E_WAIT_TIMEOUT') throw error;
      const cancelled = await ctx.syscall<WaitAnswer>('mail.waits.cancel', { id: wait.id });
      if (cancelled.messageId === null) {
        throw new StrataError(
          'E_WAIT_TIMEOUT',
          `no matching mail reached ${query.mailbox} within ${timeoutMs} ms`,
          {
            wait: wait.id,
            mailbox: query.mailbox,
          },
        );
      }
      messageId = cancelled.messageId;
    }
  }
  return ctx.syscall<ReceivedMail>('mail.get', { id: messageId });
}
