/**
 * @module identity/a2a/syscalls
 * `a2a.call`: a Strata agent calls a remote A2A agent. Like every syscall it goes through the
 * kernel pipeline, so it needs a grant on `a2a/remote/<host>` (e.g. `a2a/remote/*`) and lands in
 * the audit log with its input and a summary of the answer (state, task id, verified key).
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import { a2aCall, type A2aCallOptions } from './client.ts';

export interface A2aSyscallOptions {
  /** Allow private and loopback agents: tests only. @default false */
  readonly allowPrivate?: boolean;
  readonly fetch?: typeof fetch;
  /** Told how each call went (the agent directory records it). Its own failure never fails the call. */
  readonly onCalled?: (
    tenantId: string,
    url: string,
    outcome: { ok: true } | { ok: false; error: string },
  ) => Promise<void>;
}

const output = z.object({
  agent: z.string(),
  state: z.string(),
  text: z.string(),
  taskId: z.string().nullable(),
  contextId: z.string(),
  verified: z.object({ kid: z.string(), possession: z.boolean() }).nullable(),
});

/** The `a2a.*` syscalls. */
export function a2aSyscalls(options: A2aSyscallOptions = {}): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'a2a.call',
        description:
          'Sends a message to a remote A2A 1.0 agent (base or card URL) and returns its answer; the card must be signed unless trust is "none".',
        input: z
          .object({
            url: z.url({ protocol: /^https?$/ }).max(2000),
            text: z.string().min(1).max(100_000),
            contextId: z.string().max(200).optional(),
            taskId: z.string().max(200).optional(),
            trust: z.enum(['none', 'signed', 'possession']).default('signed'),
          })
          .strict(),
        output,
        idempotency: 'unsafe',
        timeoutMs: 120_000,
        resource: (input) => `a2a/remote/${new URL(input.url).host}`,
        auditResult: (_input, out) => ({
          state: out.state,
          taskId: out.taskId,
          kid: out.verified?.kid ?? null,
        }),
        handler: async (input, ctx) => {
          const told = (outcome: { ok: true } | { ok: false; error: string }): Promise<void> =>
            options.onCalled?.(ctx.tenantId, input.url, outcome).catch(() => undefined) ?? Promise.resolve();
          try {
            const result = await a2aCall({
              ...(input as A2aCallOptions),
              allowPrivate: options.allowPrivate,
              fetch: options.fetch,
              signal: ctx.signal,
            });
            await told({ ok: true });
            return result;
          } catch (error) {
            await told({ ok: false, error: error instanceof Error ? error.message : String(error) });
            throw error;
          }
        },
      }),
    ),
  ];
}
