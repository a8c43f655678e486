/**
 * @module identity/agents/syscalls
 * `identity.agents.*` and `identity.jwks`: agent identities for the caller's tenant. Private keys
 * never leave the store; these calls return DIDs, public JWKs and signed documents only.
 * Resources: `identity/agents/<agent>`, `identity/agents`, `identity/jwks`.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/index.ts';
import type { AgentIdentities, AgentIdentity } from './agent-identities.ts';
import { identityDocument, signIdentityDocument } from './document.ts';
import { linksSchema } from './links.ts';

const agent = z.string().min(1).max(100).describe('agent id (agt_…) or name');
const jwk = z.record(z.string(), z.unknown());
const iso = (ms: number): string => new Date(ms).toISOString();

const identitySchema = z.object({
  agentId: z.string(),
  did: z.string(),
  kid: z.string(),
  publicJwk: jwk,
  links: linksSchema,
  keys: z.array(
    z.object({
      kid: z.string(),
      did: z.string(),
      status: z.enum(['active', 'retired']),
      createdAt: z.string(),
      retiredAt: z.string().nullable(),
    }),
  ),
  createdAt: z.string(),
});

/** The wire form of an identity (public parts only). */
export function identityOut(i: AgentIdentity): z.infer<typeof identitySchema> {
  return {
    agentId: i.agentId,
    did: i.did,
    kid: i.kid,
    publicJwk: { ...i.publicJwk },
    links: i.links,
    keys: i.keys.map((k) => ({
      kid: k.kid,
      did: k.did,
      status: k.retiredAt === null ? ('active' as const) : ('retired' as const),
      createdAt: iso(k.createdAt),
      retiredAt: k.retiredAt === null ? null : iso(k.retiredAt),
    })),
    createdAt: iso(i.createdAt),
  };
}

/** The agent's identity document, signed now with its active key. */
export async function signedDocument(
  identities: AgentIdentities,
  at: { tenantId: string; agent: string; now: number },
): Promise<{ document: ReturnType<typeof identityDocument>; jws: string }> {
  const identity = await identities.get(at.tenantId, at.agent);
  const document = identityDocument(identity, at.now);
  const signer = await identities.signer(at.tenantId, identity.agentId);
  return { document, jws: await signIdentityDocument(document, signer) };
}

const documentSchema = z.object({ document: z.record(z.string(), z.unknown()), jws: z.string() });

export function agentSyscalls(identities: AgentIdentities): SyscallDefinition<unknown, unknown>[] {
  const one = (
    name: string,
    description: string,
    run: (tenantId: string, agent: string) => Promise<AgentIdentity>,
  ) =>
    erase(
      defineSyscall({
        name,
        description,
        input: z.object({ agent }).strict(),
        output: identitySchema,
        idempotency: name.endsWith('.get') ? 'pure' : 'unsafe',
        resource: (input) => `identity/agents/${input.agent}`,
        handler: async (input, ctx) => identityOut(await run(ctx.tenantId, input.agent)),
      }),
    );
  return [
    erase(
      defineSyscall({
        name: 'identity.agents.create',
        description:
          'Gives an agent of the tenant its Ed25519 key (sealed in the store, never returned) and did:key; links are published in its signed identity document.',
        input: z.object({ agent, links: linksSchema.optional() }).strict(),
        output: identitySchema,
        idempotency: 'unsafe',
        resource: (input) => `identity/agents/${input.agent}`,
        handler: async (input, ctx) =>
          identityOut(await identities.create(ctx.tenantId, input.agent, input.links)),
      }),
    ),
    erase(
      defineSyscall({
        name: 'identity.agents.list',
        description: 'Every agent identity of the tenant: DIDs, active and retired keys, links.',
        input: z.object({}).strict(),
        output: z.object({ agents: z.array(identitySchema) }),
        idempotency: 'pure',
        resource: () => 'identity/agents',
        handler: async (_input, ctx) => ({ agents: (await identities.list(ctx.tenantId)).map(identityOut) }),
      }),
    ),
    one('identity.agents.get', 'One agent identity.', (t, a) => identities.get(t, a)),
    one(
      'identity.agents.rotate',
      'A new key for the agent (a new did:key); the old key is retired and kept for verifying earlier signatures.',
      (t, a) => identities.rotateKey(t, a),
    ),
    erase(
      defineSyscall({
        name: 'identity.agents.links',
        description: 'Replaces the links (mailboxes, A2A card, MCP server card, ERC-8004 id) of an identity.',
        input: z.object({ agent, links: linksSchema }).strict(),
        output: identitySchema,
        idempotency: 'idempotent',
        resource: (input) => `identity/agents/${input.agent}`,
        handler: async (input, ctx) =>
          identityOut(await identities.setLinks(ctx.tenantId, input.agent, input.links)),
      }),
    ),
    erase(
      defineSyscall({
        name: 'identity.agents.document',
        description:
          'The agent’s identity document, signed with its key: a compact JWS (EdDSA) over the RFC 8785 canonical JSON.',
        input: z.object({ agent }).strict(),
        output: documentSchema,
        idempotency: 'pure',
        resource: (input) => `identity/agents/${input.agent}`,
        handler: async (input, ctx) => {
          const signed = await signedDocument(identities, {
            tenantId: ctx.tenantId,
            agent: input.agent,
            now: ctx.clock.now(),
          });
          return { document: { ...signed.document }, jws: signed.jws };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'identity.jwks',
        description:
          'The public keys of the tenant’s agents as a JWK set; retired keys carry status "retired".',
        input: z.object({}).strict(),
        output: z.object({ keys: z.array(jwk) }),
        idempotency: 'pure',
        resource: () => 'identity/jwks',
        handler: async (_input, ctx) => ({ keys: (await identities.jwks(ctx.tenantId)).keys }),
      }),
    ),
  ];
}
