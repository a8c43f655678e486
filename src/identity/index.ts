/**
 * @module strata/identity
 * Agent identities (Ed25519 keys sealed at rest, did:key, JWKS, signed identity documents),
 * UCAN-shaped delegation with proof of possession, mailboxes over real SMTP (SPF/DKIM/DMARC,
 * threading, DKIM-signed sending), A2A 1.0 endpoints with signed cards and discovery. The ERC-8004
 * onchain identity driver (an in-process EVM: ~0.8 s to load) has its own entry,
 * `strata/identity/onchain`, so importing this one never pays for it.
 */
export const LAYER = { name: 'identity', status: 'available', issue: 10 } as const;
export * from './agents/index.ts';
export * from './delegation/index.ts';
export * from './mail/index.ts';
export { assertOutboundUrl } from './net-guard.ts';
export * from './a2a/index.ts';
export * from './directory/index.ts';
