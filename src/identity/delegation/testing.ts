/**
 * @module identity/delegation/testing
 * Test support (not exported from the index): in-memory Ed25519 signers with their did:key, and a
 * helper that signs delegations with sane defaults, so tests state only what they vary.
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { didKeyOf } from '../agents/did-key.ts';
import {
  signDelegation,
  signInvocation,
  type DelegationClaims,
  type DidSigner,
  type InvocationClaims,
} from './tokens.ts';

export interface TestSigner extends DidSigner {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A fresh Ed25519 key pair as a signer. */
export function testSigner(): TestSigner {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    did: didKeyOf(publicKey),
    privateKey,
    publicKey,
    sign: (data) => Promise.resolve(new Uint8Array(sign(null, data, privateKey))),
  };
}

export const testNonce = (): string => randomBytes(12).toString('base64url');

/** Signs a delegation from `from` to `to`; `sub` defaults to `from` (a root). */
export async function delegate(
  from: DidSigner,
  to: DidSigner,
  claims: Partial<Omit<DelegationClaims, 'iss'>> & { nowSeconds: number },
): Promise<string> {
  const { nowSeconds, ...rest } = claims;
  const { jws } = await signDelegation(from, {
    aud: to.did,
    sub: from.did,
    cmd: '/',
    pol: [],
    nonce: testNonce(),
    exp: nowSeconds + 3600,
    ...rest,
  });
  return jws;
}

/** Signs an invocation by `by`; `sub` defaults to `by` (self-invocation). */
export function invoke(
  by: DidSigner,
  claims: Partial<Omit<InvocationClaims, 'iss'>> & { nowSeconds: number },
): Promise<string> {
  const { nowSeconds, ...rest } = claims;
  return signInvocation(by, {
    sub: by.did,
    cmd: '/',
    args: {},
    nonce: testNonce(),
    iat: nowSeconds,
    exp: nowSeconds + 60,
    prf: [],
    ...rest,
  });
}
