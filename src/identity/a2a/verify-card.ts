/**
 * @module identity/a2a/verify-card
 * Client side of card trust: fetch a card, verify its JWS against the key its `jku` JWKS publishes
 * under its `kid` (same origin as the card, so a card cannot point at a key of the attacker's
 * choosing elsewhere), then — when the card declares Strata's PoP extension — challenge the server
 * with a fresh nonce and check the answer is signed by that same key.
 */
import { randomBytes } from 'node:crypto';
import { AgentCard, verifyAgentCardSignature } from '@a2a-js/sdk';
import { decodeProtectedHeader, type JWK } from 'jose';
import { StrataError } from '../../kernel/errors.ts';
import { POP_EXTENSION_URI } from './card.ts';
import { verifyPopAnswer } from './pop.ts';

export interface VerifiedCard {
  readonly card: AgentCard;
  readonly kid: string;
  readonly publicJwk: JWK;
  /** Whether the answering server proved it holds the key (false when the card offers no PoP). */
  readonly possession: boolean;
}

export interface VerifyCardOptions {
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly now?: () => number;
  /** Fail when the card offers no proof-of-possession endpoint. @default true */
  readonly requirePossession?: boolean;
}

const invalid = (url: string, reason: string, cause?: unknown): StrataError =>
  new StrataError('E_A2A_CARD_INVALID', `agent card at ${url}: ${reason}`, { url, reason }, { cause });
const badSignature = (reason: string, cause?: unknown): StrataError =>
  new StrataError('E_A2A_CARD_SIGNATURE', `agent card signature: ${reason}`, { reason }, { cause });

async function getJson(doFetch: typeof fetch, url: string): Promise<unknown> {
  const res = await doFetch(url, {
    headers: { accept: 'application/json', 'A2A-Version': '1.0' },
    redirect: 'error',
  }).catch((error: unknown) => {
    throw invalid(url, 'unreachable', error);
  });
  if (!res.ok) throw invalid(url, `HTTP ${res.status}`);
  return res.json().catch((error: unknown) => {
    throw invalid(url, 'not JSON', error);
  });
}

/** Fetches and verifies the card at `cardUrl`; see the module comment for what is checked. */
export async function verifyCard(cardUrl: string, options: VerifyCardOptions = {}): Promise<VerifiedCard> {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const card = AgentCard.fromJSON(await getJson(doFetch, cardUrl));
  if (!card.name || card.supportedInterfaces.length === 0) throw invalid(cardUrl, 'not an A2A 1.0 card');
  const first = card.signatures[0];
  if (!first) throw badSignature('the card is unsigned');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(first);
  } catch (error) {
    throw badSignature('malformed protected header', error);
  }
  if (header.alg === 'none' || !header.kid || !header.jku)
    throw badSignature('header needs alg, kid and jku');
  const jku = new URL(header.jku, cardUrl);
  if (jku.origin !== new URL(cardUrl).origin) throw badSignature('jku is not on the card’s origin');
  const jwks = (await getJson(doFetch, jku.href)) as { keys?: JWK[] };
  const kid = header.kid;
  const publicJwk = jwks.keys?.find((k) => k.kid === kid);
  if (!publicJwk) throw badSignature(`kid ${kid} is not in ${jku.href}`);
  try {
    await verifyAgentCardSignature(() => Promise.resolve(publicJwk))(card);
  } catch (error) {
    throw badSignature('does not verify', error);
  }
  const pop = card.capabilities?.extensions.find((e) => e.uri === POP_EXTENSION_URI);
  const endpoint = typeof pop?.params?.['endpoint'] === 'string' ? pop.params['endpoint'] : undefined;
  if (!endpoint) {
    if (options.requirePossession ?? true) {
      throw new StrataError('E_A2A_POP_FAILED', 'the card offers no proof-of-possession endpoint', {
        reason: 'unsupported',
      });
    }
    return { card, kid, publicJwk, possession: false };
  }
  const rpc = card.supportedInterfaces.find((i) => i.protocolBinding === 'JSONRPC');
  const audience = rpc?.url ?? '';
  if (new URL(endpoint, cardUrl).origin !== new URL(audience || cardUrl).origin) {
    throw new StrataError('E_A2A_POP_FAILED', 'the PoP endpoint is not on the agent’s origin', {
      reason: 'origin',
    });
  }
  const nonce = randomBytes(32).toString('base64url');
  const res = await doFetch(new URL(endpoint, cardUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nonce }),
    redirect: 'error',
  }).catch((error: unknown) => {
    throw new StrataError(
      'E_A2A_POP_FAILED',
      'PoP endpoint unreachable',
      { reason: 'unreachable' },
      { cause: error },
    );
  });
  const answer = (await res.json().catch(() => ({}))) as { jws?: unknown };
  if (!res.ok || typeof answer.jws !== 'string') {
    throw new StrataError('E_A2A_POP_FAILED', `PoP endpoint answered HTTP ${res.status}`, {
      reason: 'answer',
    });
  }
  await verifyPopAnswer(answer.jws, { publicJwk, kid, nonce, audience, now: now() });
  return { card, kid, publicJwk, possession: true };
}
