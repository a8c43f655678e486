/**
 * @module identity/delegation/syscalls
 * `identity.delegation.*`: issue delegations and sign invocations with an agent's vault key, and
 * verify, invoke (verify and use up), revoke and explain. Invocations are `secret()` inputs: until
 * used, an invocation is a one-shot credential, so it is redacted from audit entries and logs (the
 * audit keeps its link ids, command and invoker instead). Refusals are errors with a stable
 * `E_DELEGATION_*` code, audited like every failed call; `explain` returns the refusal instead.
 * Resources: `identity/agents/<agent>/delegate`, `identity/delegation`.
 */
import { z } from 'zod';
import { defineSyscall, erase, secret, type SyscallDefinition } from '../../kernel/index.ts';
import type { AgentIdentities } from '../agents/agent-identities.ts';
import type { LinkView, VerifiedInvocation } from './chain.ts';
import type { Delegations } from './delegations.ts';
import { MAX_PROOFS, signDelegation, signInvocation } from './tokens.ts';
import { randomBytes } from 'node:crypto';

const agent = z.string().min(1).max(100).describe('agent id (agt_…) or name');
const did = z.string().startsWith('did:key:z').max(64);
const invocation = secret(
  z
    .string()
    .min(1)
    .max(160 * 1024),
).describe('the invocation JWS');
const linkSchema = z.object({
  link: z.union([z.literal('invocation'), z.number()]),
  cid: z.string(),
  iss: z.string(),
  aud: z.string().optional(),
  sub: z.string(),
  cmd: z.string(),
  pol: z.array(z.unknown()).optional(),
  nbf: z.number().optional(),
  exp: z.number(),
});
const verifiedSchema = z.object({
  cid: z.string(),
  invoker: z.string(),
  sub: z.string(),
  cmd: z.string(),
  args: z.record(z.string(), z.unknown()),
  chain: z.array(linkSchema),
});

const linkOut = (l: LinkView): z.infer<typeof linkSchema> => {
  const { pol, ...rest } = l;
  return pol === undefined ? rest : { ...rest, pol: [...pol] };
};
const verifiedOut = (v: VerifiedInvocation): z.infer<typeof verifiedSchema> => ({
  cid: v.cid,
  invoker: v.invoker,
  sub: v.sub,
  cmd: v.cmd,
  args: { ...v.args },
  chain: v.chain.map(linkOut),
});
/** What the audit keeps of a used invocation: ids and names, never the token or its arguments. */
const auditVerified = (_input: unknown, v: z.infer<typeof verifiedSchema>): unknown => ({
  cid: v.cid,
  cmd: v.cmd,
  invoker: v.invoker,
  chain: v.chain.map((l) => l.cid),
});
const nonce = (): string => randomBytes(16).toString('base64url');
const nowSeconds = (ms: number): number => Math.floor(ms / 1000);

export function delegationSyscalls(options: {
  delegations: Delegations;
  identities: AgentIdentities;
}): SyscallDefinition<unknown, unknown>[] {
  const { delegations, identities } = options;
  const check = (name: 'verify' | 'invoke', description: string) =>
    erase(
      defineSyscall({
        name: `identity.delegation.${name}`,
        description,
        input: z.object({ invocation }).strict(),
        output: verifiedSchema,
        idempotency: name === 'verify' ? 'pure' : 'unsafe',
        resource: () => 'identity/delegation',
        auditResult: auditVerified,
        handler: async (input, ctx) => verifiedOut(await delegations[name](ctx.tenantId, input.invocation)),
      }),
    );
  return [
    erase(
      defineSyscall({
        name: 'identity.delegation.issue',
        description:
          'An agent delegates a command (and everything below it), under a policy, to another did:key: a UCAN-shaped JWS signed with the agent’s key. Without `sub`, the agent delegates its own authority (a root).',
        input: z
          .object({
            from: agent,
            to: did,
            cmd: z.string().min(1).max(200),
            pol: z.array(z.unknown()).max(64).default([]),
            sub: did.optional(),
            ttlSeconds: z
              .number()
              .int()
              .min(1)
              .max(366 * 24 * 3600),
            notBefore: z.number().int().nonnegative().optional(),
          })
          .strict(),
        output: z.object({ jws: z.string(), cid: z.string() }),
        idempotency: 'unsafe',
        resource: (input) => `identity/agents/${input.from}/delegate`,
        handler: async (input, ctx) => {
          const signer = await identities.signer(ctx.tenantId, input.from);
          const iat = nowSeconds(ctx.clock.now());
          return signDelegation(signer, {
            aud: input.to,
            sub: input.sub ?? signer.did,
            cmd: input.cmd,
            pol: input.pol as never,
            nonce: nonce(),
            iat,
            exp: iat + input.ttlSeconds,
            ...(input.notBefore === undefined ? {} : { nbf: input.notBefore }),
          });
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'identity.delegation.sign',
        description:
          'An agent signs an invocation of a command with its key, carrying its proof chain (delegation JWS, root first).',
        input: z
          .object({
            from: agent,
            sub: did,
            cmd: z.string().min(1).max(200),
            args: z.record(z.string(), z.unknown()).default({}),
            proofs: z.array(z.string().max(16 * 1024)).max(MAX_PROOFS),
            ttlSeconds: z.number().int().min(1).max(3600).default(300),
          })
          .strict(),
        output: z.object({ invocation: z.string() }),
        idempotency: 'unsafe',
        resource: (input) => `identity/agents/${input.from}/delegate`,
        handler: async (input, ctx) => {
          const signer = await identities.signer(ctx.tenantId, input.from);
          const iat = nowSeconds(ctx.clock.now());
          const jws = await signInvocation(signer, {
            sub: input.sub,
            cmd: input.cmd,
            args: input.args,
            nonce: nonce(),
            iat,
            exp: iat + input.ttlSeconds,
            prf: input.proofs,
          });
          return { invocation: jws };
        },
      }),
    ),
    check(
      'verify',
      'Checks an invocation and its proof chain (nonce checked, not used up); refusals carry E_DELEGATION_* codes.',
    ),
    check(
      'invoke',
      'Checks an invocation and uses up its nonce: a second use is refused (E_DELEGATION_REPLAY).',
    ),
    erase(
      defineSyscall({
        name: 'identity.delegation.revoke',
        description: 'Revokes one link by its id (sha256:…): every chain through it is refused from now on.',
        input: z
          .object({ cid: z.string().regex(/^sha256:[0-9a-f]{64}$/), reason: z.string().max(500).optional() })
          .strict(),
        output: z.object({ cid: z.string(), revokedAt: z.string() }),
        idempotency: 'idempotent',
        resource: () => 'identity/delegation',
        handler: async (input, ctx) => {
          const out = await delegations.revoke(ctx.tenantId, { ...input, revokedBy: ctx.principal.id });
          return { cid: out.cid, revokedAt: new Date(out.revokedAt).toISOString() };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'identity.delegation.explain',
        description:
          'The chain of an invocation and the rule that allowed or refused it, without using it up.',
        input: z.object({ invocation }).strict(),
        output: z.object({
          allowed: z.boolean(),
          rule: z.string(),
          code: z.string().optional(),
          message: z.string(),
          link: z.union([z.literal('invocation'), z.number()]).optional(),
          chain: z.array(linkSchema),
        }),
        idempotency: 'pure',
        resource: () => 'identity/delegation',
        auditResult: (_input, out) => ({ allowed: out.allowed, rule: out.rule, code: out.code }),
        handler: async (input, ctx) => {
          const out = await delegations.explain(ctx.tenantId, input.invocation);
          return { ...out, chain: out.chain.map(linkOut) };
        },
      }),
    ),
  ];
}
