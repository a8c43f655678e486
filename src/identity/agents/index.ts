/**
 * @module identity/agents
 * Agent identities: an Ed25519 key per agent (sealed at rest, never returned), its did:key, a JWKS
 * of every agent key (retired ones marked) and a signed identity document linking the did:key to the
 * agent's mailboxes, A2A card, MCP server card and ERC-8004 id. Any new export added here becomes
 * public API.
 *
 * @example
 * const identities = await AgentIdentities.open({ store, masterKey, clock });
 * const id = await identities.create(tenantId, 'mailer', { mailboxes: ['mailer@acme.test'] });
 * id.did; // did:key:z6Mk…
 * for (const d of agentSyscalls(identities)) kernel.register(d);
 * app.route('/', agentIdentityRoutes({ identities, tenantId }));
 */
export { AgentIdentities, type AgentIdentity, type AgentKey, type AgentSigner } from './agent-identities.ts';
export { base58btcDecode, base58btcEncode, didKeyFromRaw, didKeyOf, publicKeyFromDidKey } from './did-key.ts';
export {
  DOCUMENT_TYPE,
  identityDocument,
  signIdentityDocument,
  verifyIdentityDocument,
  type IdentityDocument,
} from './document.ts';
export {
  agentDidDocument,
  didWebOf,
  didWebUrl,
  nodeDidDocument,
  resolveDidWeb,
  verificationKey,
  type DidDocument,
  type ResolveDidWebOptions,
  type VerificationMethod,
} from './did-web.ts';
export { linksSchema, parseLinks, type AgentLinks } from './links.ts';
export { AGENTS_LAYER, agentMigrations } from './migrations.ts';
export { agentIdentityRoutes, type IdentityRoutesOptions } from './routes.ts';
export { agentSyscalls, identityOut } from './syscalls.ts';
