/**
 * @module identity/agents/did-web
 * did:web (W3C CCG did:web method): DIDs a node publishes under its own domain, so agents are
 * named by a domain their operator controls rather than only by a key.
 *
 * - The node: `did:web:<host>` → `https://<host>/.well-known/did.json`, listing its agents.
 * - Each agent: `did:web:<host>:agents:<agent id>` → `https://<host>/agents/<agent id>/did.json`
 *   (the id, not the name, so the DID never changes with a rename), whose
 *   verification methods are the agent's keys (active in `authentication`/`assertionMethod`,
 *   retired ones kept so old signatures still verify) and `alsoKnownAs` its did:key.
 *
 * A port is written `%3A` in the DID, as the method requires. The resolver refuses redirects (a
 * document served from elsewhere than its DID names proves nothing), private and loopback
 * addresses outside test mode (SSRF, DNS rebinding checked at connect time), bodies over 64 KiB,
 * and a document whose `id` is not the DID asked for.
 */
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { JWK } from 'jose';
import { StrataError } from '../../kernel/index.ts';
import { assertOutboundUrl, guardedLookup } from '../net-guard.ts';
import type { AgentIdentity } from './agent-identities.ts';

const MAX_DOCUMENT_BYTES = 64 * 1024;

export interface VerificationMethod {
  readonly id: string;
  readonly type: 'JsonWebKey2020';
  readonly controller: string;
  readonly publicKeyJwk: JWK;
}

export interface DidDocument {
  readonly '@context': readonly string[];
  readonly id: string;
  readonly alsoKnownAs?: readonly string[];
  readonly verificationMethod?: readonly VerificationMethod[];
  readonly authentication?: readonly string[];
  readonly assertionMethod?: readonly string[];
  readonly service?: readonly { id: string; type: string; serviceEndpoint: string }[];
}

const CONTEXT = ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/suites/jws-2020/v1'] as const;

const refuse = (did: string, reason: string, data: Record<string, unknown> = {}): StrataError =>
  new StrataError('E_DID_RESOLUTION', `cannot resolve ${did}: ${reason}`, { did, reason, ...data });

/** `did:web:<host>[:path…]` for an origin (its host and port) and optional path segments. */
export function didWebOf(origin: string | URL, ...path: string[]): string {
  const url = new URL(origin);
  const host = url.port ? `${url.hostname}%3A${url.port}` : url.hostname;
  return ['did:web', host, ...path.map(encodeURIComponent)].join(':');
}

/** The HTTPS URL (HTTP with `insecure`, for tests) a did:web DID's document is served at. */
export function didWebUrl(did: string, options: { insecure?: boolean } = {}): URL {
  const match = /^did:web:([^:]+)((?::[^:]+)*)$/.exec(did);
  if (!match?.[1]) throw refuse(did, 'not a did:web DID');
  const host = decodeURIComponent(match[1]);
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host)) throw refuse(did, 'bad host');
  const path = (match[2] ?? '')
    .split(':')
    .filter(Boolean)
    .map((segment) => {
      const decoded = decodeURIComponent(segment);
      if (decoded === '.' || decoded === '..' || decoded.includes('/')) throw refuse(did, 'bad path segment');
      return encodeURIComponent(decoded);
    });
  const scheme = options.insecure ? 'http' : 'https';
  return new URL(
    path.length
      ? `${scheme}://${host}/${path.join('/')}/did.json`
      : `${scheme}://${host}/.well-known/did.json`,
  );
}

/** An agent's did:web document: its keys (retired ones too) and links to its other documents. */
export function agentDidDocument(identity: AgentIdentity, origin: string): DidDocument {
  const did = didWebOf(origin, 'agents', identity.agentId);
  const methods = identity.keys.map((k) => ({
    id: `${did}#${k.kid}`,
    type: 'JsonWebKey2020' as const,
    controller: did,
    publicKeyJwk: k.publicJwk,
  }));
  const active = `${did}#${identity.kid}`;
  const base = new URL(origin).origin;
  const agentPath = `${base}/agents/${encodeURIComponent(identity.agentId)}`;
  return {
    '@context': CONTEXT,
    id: did,
    alsoKnownAs: [identity.did],
    verificationMethod: methods,
    authentication: [active],
    assertionMethod: [active],
    service: [
      { id: `${did}#identity`, type: 'StrataIdentityDocument', serviceEndpoint: `${agentPath}/identity` },
      ...(identity.links.a2aCardUrl
        ? [{ id: `${did}#a2a`, type: 'A2AAgentCard', serviceEndpoint: identity.links.a2aCardUrl }]
        : []),
    ],
  };
}

/** The node's did:web document: one service entry per agent, pointing at its own DID document. */
export function nodeDidDocument(identities: readonly AgentIdentity[], origin: string): DidDocument {
  const did = didWebOf(origin);
  const base = new URL(origin).origin;
  return {
    '@context': CONTEXT,
    id: did,
    service: [
      { id: `${did}#ai-catalog`, type: 'AICatalog', serviceEndpoint: `${base}/.well-known/ai-catalog.json` },
      ...identities.map((i) => ({
        id: `${did}#agent-${i.agentId}`,
        type: 'StrataAgent',
        serviceEndpoint: `${base}/agents/${encodeURIComponent(i.agentId)}/did.json`,
      })),
    ],
  };
}

export interface ResolveDidWebOptions {
  /** Tests only: allow http and loopback/private addresses. @default false */
  readonly allowPrivate?: boolean;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

/** Fetches and checks a did:web document (see the module comment for what is refused). */
export async function resolveDidWeb(did: string, options: ResolveDidWebOptions = {}): Promise<DidDocument> {
  const allowPrivate = options.allowPrivate ?? false;
  const url = didWebUrl(did, { insecure: allowPrivate });
  try {
    assertOutboundUrl(url.href, { allowPrivate });
  } catch (error) {
    throw refuse(did, error instanceof Error ? error.message : String(error), { url: url.href });
  }
  const body = await fetchCapped(did, url, { allowPrivate, timeoutMs: options.timeoutMs ?? 5_000 });
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    throw refuse(did, 'the document is not JSON', { url: url.href });
  }
  if (typeof document !== 'object' || document === null || (document as { id?: unknown }).id !== did) {
    throw refuse(did, 'the document’s id is not the DID', { url: url.href });
  }
  return document as DidDocument;
}

/** The public JWK of a verification method (`did#kid` or `#kid`) listed in a document. */
export function verificationKey(document: DidDocument, methodId: string): JWK {
  const id = methodId.startsWith('#') ? `${document.id}${methodId}` : methodId;
  const method = document.verificationMethod?.find((m) => m.id === id);
  if (!method) throw refuse(document.id, `no verification method ${id}`);
  return method.publicKeyJwk;
}

/** GET without following redirects, with a byte cap and a deadline; the socket's lookup is guarded. */
function fetchCapped(
  did: string,
  url: URL,
  options: { allowPrivate: boolean; timeoutMs: number },
): Promise<string> {
  const send = url.protocol === 'https:' ? httpsRequest : request;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/did+json, application/json' },
        timeout: options.timeoutMs,
        ...(options.allowPrivate ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.resume();
          return reject(refuse(did, `redirects are refused (HTTP ${status})`, { url: url.href, status }));
        }
        if (status !== 200) {
          res.resume();
          return reject(refuse(did, `HTTP ${status}`, { url: url.href, status }));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_DOCUMENT_BYTES) {
            req.destroy();
            reject(refuse(did, `the document exceeds ${MAX_DOCUMENT_BYTES} bytes`, { url: url.href }));
          } else chunks.push(chunk);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(refuse(did, `no answer within ${options.timeoutMs} ms`)));
    req.on('error', (error) =>
      reject(
        error instanceof StrataError && error.code === 'E_DID_RESOLUTION'
          ? error
          : refuse(did, error.message, { url: url.href }),
      ),
    );
    req.end();
  });
}
