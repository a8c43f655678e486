/**
 * @module identity/a2a/pop
 * Proof of possession for agent cards. The caller sends a fresh random nonce; the server answers
 * with a compact JWS (`typ: a2a-pop+jws`) whose payload binds the nonce, the agent's URL (`aud`)
 * and the time, signed with the card's key. A replayed answer fails the nonce check, an answer
 * for another agent fails `aud`, and a server that only copied a signed card cannot answer at all.
 *
 * The payload is always this JSON object, never caller-chosen bytes, so the endpoint is not a
 * signing oracle: no answer can pass as a card signature (whose payload is a canonical card).
 */
import { compactVerify, importJWK, type JWK } from 'jose';
import { StrataError } from '../../kernel/errors.ts';
import { signJws, type CardSigner } from './signer.ts';

export const POP_TYP = 'a2a-pop+jws';
/** Nonces are 16–128 base64url characters (≥ 96 bits when the caller uses the default 32). */
export const NONCE = /^[A-Za-z0-9_-]{16,128}$/;

interface PopPayload {
  readonly nonce: string;
  readonly aud: string;
  readonly iat: number;
}

/** The server's answer to a challenge: a compact JWS over `{nonce, aud, iat}`. */
export async function answerChallenge(
  signer: CardSigner,
  options: { nonce: string; audience: string; now: number },
): Promise<string> {
  if (!NONCE.test(options.nonce)) {
    throw new StrataError('E_INVALID_INPUT', 'nonce must be 16–128 base64url characters', {
      issues: [{ path: ['nonce'], message: 'base64url, 16–128 characters' }],
    });
  }
  const payload: PopPayload = {
    nonce: options.nonce,
    aud: options.audience,
    iat: Math.floor(options.now / 1000),
  };
  const jws = await signJws(signer, {
    payload: Buffer.from(JSON.stringify(payload)),
    header: { typ: POP_TYP },
  });
  return `${jws.protected}.${jws.payload}.${jws.signature}`;
}

/**
 * Checks an answer: signed by `publicJwk` (the card's key, same `kid`), for this nonce and agent,
 * issued within `maxSkewMs` of `now`. Throws `E_A2A_POP_FAILED` with `data.reason` otherwise.
 */
export async function verifyPopAnswer(
  answer: string,
  options: { publicJwk: JWK; kid: string; nonce: string; audience: string; now: number; maxSkewMs?: number },
): Promise<void> {
  const fail = (reason: string, cause?: unknown): never => {
    throw new StrataError('E_A2A_POP_FAILED', `proof of possession failed: ${reason}`, { reason }, { cause });
  };
  let verified: Awaited<ReturnType<typeof compactVerify>> | undefined;
  try {
    const key = await importJWK({ ...options.publicJwk, alg: 'EdDSA' }, 'EdDSA');
    verified = await compactVerify(answer, key, { algorithms: ['EdDSA'] });
  } catch (error) {
    fail('signature', error);
  }
  if (!verified) return fail('signature');
  if (verified.protectedHeader.typ !== POP_TYP) fail('typ');
  if (verified.protectedHeader.kid !== options.kid) fail('kid');
  let payload: Partial<PopPayload>;
  try {
    payload = JSON.parse(new TextDecoder().decode(verified.payload)) as Partial<PopPayload>;
  } catch (error) {
    return fail('payload', error);
  }
  if (payload.nonce !== options.nonce) fail('nonce');
  if (payload.aud !== options.audience) fail('aud');
  const skew = options.maxSkewMs ?? 60_000;
  if (typeof payload.iat !== 'number' || Math.abs(payload.iat * 1000 - options.now) > skew) fail('iat');
}
