/**
 * @module identity/agents/did-key
 * `did:key` for Ed25519 public keys (W3C CCG did:key method): `did:key:z` + base58btc of the
 * multicodec prefix `ed25519-pub` (varint 0xed, i.e. bytes 0xed 0x01) followed by the 32-byte raw key.
 * The base58btc alphabet and the encoding are small enough to write here rather than depend on an
 * indirect package.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { StrataError } from '../../kernel/index.ts';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));
const ED25519_PUB = [0xed, 0x01];
const PREFIX = 'did:key:z';
/** 34 bytes (2 prefix + 32 key) encode to 48 base58 chars; allow a little slack, refuse huge input. */
const MAX_DID_CHARS = 64;

/** Base58btc (Bitcoin alphabet), leading zero bytes as leading '1's. */
export function base58btcEncode(bytes: Uint8Array): string {
  const digits: number[] = [];
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += (digits[i] as number) << 8;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  return (
    '1'.repeat(zeros) +
    digits
      .reverse()
      .map((d) => ALPHABET[d] as string)
      .join('')
  );
}

/** Inverse of {@link base58btcEncode}; `undefined` for a character outside the alphabet. */
export function base58btcDecode(text: string): Uint8Array | undefined {
  const bytes: number[] = [];
  for (const char of text) {
    let carry = INDEX.get(char);
    if (carry === undefined) return undefined;
    for (let i = 0; i < bytes.length; i++) {
      carry += (bytes[i] as number) * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...bytes.reverse()]);
}

/** The did:key of a raw 32-byte Ed25519 public key. */
export function didKeyFromRaw(raw: Uint8Array): string {
  if (raw.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
  return PREFIX + base58btcEncode(Uint8Array.from([...ED25519_PUB, ...raw]));
}

/** The did:key of an Ed25519 public (or private) KeyObject. */
export function didKeyOf(key: KeyObject): string {
  const jwk = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 key');
  return didKeyFromRaw(Buffer.from(jwk.x, 'base64url'));
}

const cache = new Map<string, KeyObject>();

/**
 * The Ed25519 public key a did:key names. Throws E_DELEGATION_MALFORMED for anything else (another
 * method, another key type, bad base58, wrong length): the key comes from the DID itself, so there is
 * nothing to fetch and nothing an attacker can redirect.
 */
export function publicKeyFromDidKey(did: string): KeyObject {
  const hit = cache.get(did);
  if (hit !== undefined) return hit;
  const bytes =
    did.length <= MAX_DID_CHARS && did.startsWith(PREFIX)
      ? base58btcDecode(did.slice(PREFIX.length))
      : undefined;
  if (bytes?.length !== 34 || bytes[0] !== ED25519_PUB[0] || bytes[1] !== ED25519_PUB[1]) {
    throw new StrataError('E_DELEGATION_MALFORMED', 'not an Ed25519 did:key', { did: did.slice(0, 80) });
  }
  const x = Buffer.from(bytes.subarray(2)).toString('base64url');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  if (cache.size >= 10_000) cache.clear(); // bounded: DIDs come from untrusted tokens
  cache.set(did, key);
  return key;
}
