/**
 * Signatures of decisions. The signed bytes are the canonical JSON (keys sorted, no spaces) of
 * `{ approval, tenant, run, decision, value, reason, by, via, at }`, so anyone holding the stored
 * approval can rebuild them. Two signers:
 * - `ed25519:<did>#<kid>`: the deciding agent's identity key (src/identity/agents), when the
 *   approver is an agent principal with an identity — verifiable by anyone from its did:key;
 * - `hmac-sha256:node`: otherwise (API keys, mail replies, timeouts), an HMAC under a key derived
 *   from the node's master key (HKDF, its own label) — verifiable only by this node
 *   ({@link verifyNodeSignature}), which is what proves the row was not edited afterwards.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { DecidedVia } from './approval-row.ts';

export interface CanonicalDecision {
  readonly approval: string;
  readonly tenant: string;
  readonly run: string;
  readonly decision: 'approve' | 'reject';
  readonly value: unknown;
  readonly reason: string | null;
  readonly by: string;
  readonly via: DecidedVia;
  readonly at: number;
}

/** Signs bytes with an agent's identity key; absent when the decider has none. */
export type AgentSign = (data: Uint8Array) => Promise<{ did: string; kid: string; signature: Uint8Array }>;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export const canonicalBytes = (decision: CanonicalDecision): Buffer =>
  Buffer.from(canonical(decision), 'utf8');

const nodeKey = (masterKey: Buffer): Buffer =>
  Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'strata approvals decision v1', 32));

export async function signDecision(
  decision: CanonicalDecision,
  masterKey: Buffer,
  agentSign: AgentSign | undefined,
): Promise<{ signature: string; signedWith: string }> {
  const bytes = canonicalBytes(decision);
  if (agentSign) {
    const signed = await agentSign(bytes);
    return {
      signature: Buffer.from(signed.signature).toString('base64url'),
      signedWith: `ed25519:${signed.did}#${signed.kid}`,
    };
  }
  const mac = createHmac('sha256', nodeKey(masterKey)).update(bytes).digest('base64url');
  return { signature: mac, signedWith: 'hmac-sha256:node' };
}

/** Whether an HMAC-signed decision is intact. */
export function verifyNodeSignature(
  decision: CanonicalDecision,
  signature: string,
  masterKey: Buffer,
): boolean {
  const expected = createHmac('sha256', nodeKey(masterKey)).update(canonicalBytes(decision)).digest();
  const given = Buffer.from(signature, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
