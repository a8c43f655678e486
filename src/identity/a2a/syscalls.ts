/**
 * @module identity/a2a/syscalls
 * `a2a.call`: a Strata agent calls a remote A2A agent. Like every syscall it goes through the
 * kernel pipeline, so it needs a grant on `a2a/remote/<host>` (e.g. `a2a/remote/*`) and lands in
 * the audit log with its input and a summary of the answer (state, task id, verified key).
 * `credential` names a vault secret sent as `Authorization: Bearer` to the agent's origin only
 * (e.g. an API key of another Strata node); the secret itself never appears in the input or audit.
 */
import { z } from 'zod';
import { StrataError } from '../../kernel/errors.ts';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import { a2aCall, type A2aCallOptions } from './client.ts';

export interface A2aSyscallOptions {
  /** Allow private and loopback agents: tests only. @default false */
  readonly allowPrivate?: boolean;
  readonly fetch?: typeof fetch;
  /**
   * Reveals a vault secret by name for the caller (the tools layer's vault), for `credential`.
   * Without it, a call naming a credential is refused with E_CONFIG.
   */
  readonly revealSecret?: (tenantId: string, name: string, principalId: string) => Promise<string>;
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

async function revealFor(
  options: A2aSyscallOptions,
  tenantId: string,
  name: string,
  principalId: string,
): Promise<string> {
  if (!options.revealSecret) {
    throw new StrataError('E_CONFIG', 'no vault is wired to a2a.call: credentials cannot be used', {
      credential: name,
    });
  }
  return options.revealSecret(tenantId, name, principalId);
}

/**
 * A fetch adding `Authorization: Bearer` to requests to the agent's own origin only, so a card
 * cannot send the credential to another host (its interfaces are checked the same way).
 */
function bearerFetch(base: typeof fetch, agentUrl: string, bearer: string): typeof fetch {
  const origin = new URL(agentUrl).origin;
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== origin) return base(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set('authorization', `Bearer ${bearer}`);
    return base(input, { ...init, headers });
  };
}

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
            /** A vault secret holding the remote agent's bearer credential (e.g. a Strata API key). */
            credential: z.string().min(1).max(200).optional(),
            /** How long the agent may take to answer; past it the call fails with E_SYSCALL_TIMEOUT. */
            timeoutMs: z.number().int().positive().max(110_000).optional(),
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
            const { credential, ...call } = input;
            const bearer = credential
              ? await revealFor(options, ctx.tenantId, credential, ctx.principal.id)
              : undefined;
            const result = await a2aCall({
              ...(call as A2aCallOptions),
              allowPrivate: options.allowPrivate,
              fetch: bearer ? bearerFetch(options.fetch ?? fetch, input.url, bearer) : options.fetch,
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
