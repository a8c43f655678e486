/**
 * @module strata/identity
 * Agent identities (Ed25519, did:key), delegation, mailboxes over real SMTP, A2A 1.0 endpoints and discovery.
 *
 * This layer's code has not landed yet: tracked in issue 10. Until then this entry exports only
 * its status, so `strata/identity` resolves and tools can report what exists.
 */
export const LAYER = { name: 'identity', status: 'planned', issue: 10 } as const;
