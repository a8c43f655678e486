/**
 * @module identity/a2a/signer
 * The key an agent card and its proof-of-possession answers are signed with. Kept behind a small
 * interface so the agent identities (an Ed25519 key per agent held in the vault) plug in without this
 * module ever seeing a private key: the signer signs JWS signing inputs and returns raw signatures.
 *
 * Every JWS here is built by {@link signJws}, so the card signature and the PoP answer use one code
 * path and one header discipline (`alg: EdDSA`, `kid` always set).
 */
import { createPublicKey, KeyObject, sign as edSign, type webcrypto } from 'node:crypto';
import type { JWK } from 'jose';

/** An Ed25519 signing key identified by `kid`; the private half may live anywhere (vault, HSM). */
export interface CardSigner {
  /** Key id, written into every protected header and matched against the JWKS. */
  readonly kid: string;
  /** The public key as a JWK (`kty: OKP`, `crv: Ed25519`). */
  readonly publicJwk: JWK;
  /** Signs a JWS signing input (`<protected>.<payload>`, ASCII) and returns the 64-byte signature. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

/** A {@link CardSigner} over an in-process Ed25519 private key (tests, single-node setups). */
export function cardSignerFromKey(options: {
  kid: string;
  privateKey: KeyObject | webcrypto.CryptoKey;
}): CardSigner {
  const key =
    options.privateKey instanceof KeyObject ? options.privateKey : KeyObject.from(options.privateKey);
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('a card signer needs an Ed25519 private key');
  }
  const { d: _d, ...publicJwk } = createPublicKey(key).export({ format: 'jwk' }) as JWK;
  return {
    kid: options.kid,
    publicJwk: { ...publicJwk, kid: options.kid, alg: 'EdDSA', use: 'sig' },
    sign: (input) => Promise.resolve(new Uint8Array(edSign(null, input, key))),
  };
}

const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

/** A flattened JWS over `payload`, signed by `signer`; the header always gets `alg: EdDSA` and `kid`. */
export async function signJws(
  signer: CardSigner,
  options: { payload: Uint8Array; header: Record<string, unknown> },
): Promise<{ protected: string; payload: string; signature: string }> {
  const protectedB64 = b64url(JSON.stringify({ ...options.header, alg: 'EdDSA', kid: signer.kid }));
  const payloadB64 = b64url(options.payload);
  const signature = await signer.sign(Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'));
  return { protected: protectedB64, payload: payloadB64, signature: b64url(signature) };
}
