/**
 * @module identity/agents/document
 * The signed identity document of an agent: a small JSON object linking its did:key (and the DIDs
 * of its retired keys) to its mailboxes, A2A card, MCP server card and ERC-8004 registration, signed
 * as a compact JWS (EdDSA, `kid` → the JWKS) over its RFC 8785 canonical JSON. Anyone can check it
 * offline: the verifying key is the did:key in the document itself, and the header's `kid` must be
 * that key's thumbprint.
 */
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader } from 'jose';
import canonicalizeModule from 'canonicalize';
import { StrataError } from '../../kernel/index.ts';
import type { AgentIdentity, AgentSigner } from './agent-identities.ts';
import { publicKeyFromDidKey } from './did-key.ts';
import type { AgentLinks } from './links.ts';

// CommonJS default export; see kernel/audit/entry.ts.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string;

export const DOCUMENT_TYPE = 'strata-agent-identity+jws';

export interface IdentityDocument {
  readonly type: 'strata-agent-identity';
  readonly version: 1;
  /** The agent's current did:key: the key that signs this document. */
  readonly id: string;
  readonly agent: string;
  readonly kid: string;
  /** Earlier DIDs of this agent (keys retired by rotation), oldest first. */
  readonly previous: readonly { did: string; kid: string; retiredAt: string }[];
  readonly links: AgentLinks;
  readonly issuedAt: string;
}

/** The document describing `identity` now. */
export function identityDocument(identity: AgentIdentity, now: number): IdentityDocument {
  return {
    type: 'strata-agent-identity',
    version: 1,
    id: identity.did,
    agent: identity.agentId,
    kid: identity.kid,
    previous: identity.keys
      .filter((k) => k.retiredAt !== null)
      .map((k) => ({ did: k.did, kid: k.kid, retiredAt: new Date(k.retiredAt ?? 0).toISOString() })),
    links: identity.links,
    issuedAt: new Date(now).toISOString(),
  };
}

const b64 = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

/** Signs the document as a compact JWS over its canonical JSON. */
export async function signIdentityDocument(document: IdentityDocument, signer: AgentSigner): Promise<string> {
  if (signer.did !== document.id) throw new StrataError('E_INTERNAL', 'the signer is not the document’s key');
  const head = b64(JSON.stringify({ alg: 'EdDSA', typ: DOCUMENT_TYPE, kid: signer.kid }));
  const body = b64(canonicalize(document));
  const signature = await signer.sign(Buffer.from(`${head}.${body}`, 'ascii'));
  return `${head}.${body}.${b64(signature)}`;
}

function refused(reason: string, cause?: unknown): StrataError {
  return new StrataError(
    'E_DELEGATION_SIGNATURE',
    `identity document refused: ${reason}`,
    { reason },
    { cause },
  );
}

/** Verifies a signed identity document with the did:key it names; returns the document. */
export async function verifyIdentityDocument(jws: string): Promise<IdentityDocument> {
  let header: { alg?: unknown; typ?: unknown; kid?: unknown };
  let document: IdentityDocument;
  try {
    header = decodeProtectedHeader(jws);
    document = JSON.parse(
      Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as IdentityDocument;
  } catch (error) {
    throw refused('not a compact JWS', error);
  }
  if (header.alg !== 'EdDSA') {
    throw new StrataError('E_DELEGATION_ALG', 'identity documents are signed with EdDSA only', {
      alg: String(header.alg).slice(0, 20),
    });
  }
  if (header.typ !== DOCUMENT_TYPE || typeof document.id !== 'string')
    throw refused('not an identity document');
  const key = publicKeyFromDidKey(document.id);
  const jwk = key.export({ format: 'jwk' });
  if (header.kid !== (await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'sha256'))) {
    throw refused('kid is not the thumbprint of the document’s did:key');
  }
  try {
    await compactVerify(jws, key, { algorithms: ['EdDSA'] });
  } catch (error) {
    throw refused('signature does not verify', error);
  }
  return document;
}
