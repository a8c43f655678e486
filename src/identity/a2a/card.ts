/**
 * @module identity/a2a/card
 * A2A 1.0 agent cards (spec §8): one per exposed agent, listing its JSON-RPC interface
 * (`supportedInterfaces`, protocol version 1.0), skills and security schemes, and **signed**: a JWS
 * (flattened, detached payload, §8.4) over the RFC 8785 canonical card with the agent's Ed25519
 * key. The protected header carries `kid` and `jku` (the JWKS URL), so any verifier — the official
 * SDK's `verifyAgentCardSignature` included — finds the key.
 *
 * The card also declares Strata's proof-of-possession extension (its endpoint is inside the signed
 * bytes), because a signed card alone proves only that the key signed it once, not that the server
 * answering now holds the key: a copied card verifies just as well (see `pop.ts`).
 */
import {
  A2A_PROTOCOL_VERSION,
  canonicalizeAgentCard,
  type AgentCard,
  type AgentSkill,
  type SecurityRequirement,
  type SecurityScheme,
} from '@a2a-js/sdk';
import { signJws, type CardSigner } from './signer.ts';

/** URI of Strata's proof-of-possession extension, declared in `capabilities.extensions`. */
export const POP_EXTENSION_URI = 'https://strata.dev/a2a/ext/proof-of-possession/v1';

/** One skill as an agent declares it; omitted lists default to empty / the agent's modes. */
export interface A2aSkillSpec {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly tags?: readonly string[];
  readonly examples?: readonly string[];
}

/** What the card of one exposed agent says about it. */
export interface A2aCardSpec {
  /** URL-safe name: the agent lives at `<baseUrl>/a2a/<name>`. */
  readonly name: string;
  readonly description: string;
  /** @default '1.0.0' */
  readonly version?: string;
  readonly skills: readonly A2aSkillSpec[];
  /** Security schemes by name (A2A/OpenAPI shapes); the caller must satisfy one requirement. */
  readonly securitySchemes?: Readonly<Record<string, SecurityScheme>>;
  readonly securityRequirements?: readonly SecurityRequirement[];
  readonly provider?: { readonly organization: string; readonly url: string };
}

const AGENT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Throws unless `name` can be a path segment of the agent's URL. */
export function assertAgentName(name: string): void {
  if (!AGENT_NAME.test(name)) {
    throw new TypeError(`agent name "${name}" must be 1–63 of a-z, 0-9, - and _, starting alphanumeric`);
  }
}

/** The agent's JSON-RPC endpoint. */
export const agentUrl = (baseUrl: string, name: string): string => `${baseUrl}/a2a/${name}`;
/** Where the agent's own card is served (the host-wide well-known path serves the default agent). */
export const agentCardUrl = (baseUrl: string, name: string): string =>
  `${agentUrl(baseUrl, name)}/.well-known/agent-card.json`;
/** The proof-of-possession endpoint. */
export const popUrl = (baseUrl: string, name: string): string => `${agentUrl(baseUrl, name)}/pop`;

/** The unsigned card of an agent served under `baseUrl`. */
export function buildAgentCard(spec: A2aCardSpec, options: { baseUrl: string }): AgentCard {
  assertAgentName(spec.name);
  const modes = ['text/plain', 'application/json'];
  const skills: AgentSkill[] = spec.skills.map((s) => ({
    id: s.id,
    name: s.name,
    description: s.description,
    tags: [...(s.tags ?? [])],
    examples: [...(s.examples ?? [])],
    inputModes: modes,
    outputModes: modes,
    securityRequirements: [],
  }));
  return {
    name: spec.name,
    description: spec.description,
    version: spec.version ?? '1.0.0',
    supportedInterfaces: [
      {
        url: agentUrl(options.baseUrl, spec.name),
        protocolBinding: 'JSONRPC',
        protocolVersion: A2A_PROTOCOL_VERSION,
        tenant: '',
      },
    ],
    provider: spec.provider ? { ...spec.provider } : undefined,
    capabilities: {
      streaming: true,
      pushNotifications: true,
      extendedAgentCard: true,
      extensions: [
        {
          uri: POP_EXTENSION_URI,
          description: 'POST {"nonce"} here; the answer is a JWS over it by this card’s key.',
          required: false,
          params: { endpoint: popUrl(options.baseUrl, spec.name) },
        },
      ],
    },
    securitySchemes: { ...spec.securitySchemes },
    securityRequirements: [...(spec.securityRequirements ?? [])],
    defaultInputModes: modes,
    defaultOutputModes: modes,
    skills,
    signatures: [],
  };
}

/** Returns `card` with one signature by `signer` (replacing earlier ones); `jku` names the JWKS. */
export async function signAgentCard(
  card: AgentCard,
  options: { signer: CardSigner; jku: string },
): Promise<AgentCard> {
  const payload = Buffer.from(canonicalizeAgentCard(card), 'utf8');
  const jws = await signJws(options.signer, { payload, header: { typ: 'JOSE', jku: options.jku } });
  return { ...card, signatures: [{ protected: jws.protected, signature: jws.signature, header: undefined }] };
}
