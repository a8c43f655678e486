/**
 * @module kernel/crypto/sealed-box
 * Authenticated symmetric encryption for secrets at rest (signing keys, vault entries): AES-256-GCM
 * with a fresh random 96-bit IV per message, encoded as one compact string so it fits a TEXT column.
 *
 * Format: `v1.<iv>.<tag>.<ciphertext>`, each part base64url. The version prefix lets a later format
 * (another cipher, a key id for rotation) coexist with rows already written.
 *
 * `aad` (additional authenticated data) binds a ciphertext to its context, e.g. the row's id, so a
 * sealed value copied into another row fails to open. Every failure to open throws the same
 * E_INTERNAL error and never includes the key, the plaintext or the sealed text.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { StrataError } from '../errors.ts';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const B64URL = /^[A-Za-z0-9_-]*$/;

function assertKey(masterKey: Buffer): void {
  if (masterKey.length !== KEY_BYTES) {
    throw new StrataError('E_CONFIG', `masterKey must be ${KEY_BYTES} bytes`, { key: 'masterKey' });
  }
}

function failed(cause?: unknown): StrataError {
  // One message for every failure (bad format, wrong key, tampering, wrong aad): distinguishing
  // them would only help an attacker probing the box.
  return new StrataError('E_INTERNAL', 'sealed data failed authentication', undefined, { cause });
}

/** Encrypts `plaintext` under `masterKey`; the result is safe to store as TEXT. */
export function seal(masterKey: Buffer, plaintext: Buffer, aad?: string): string {
  assertKey(masterKey);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
  if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv, tag, ciphertext]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/** Decrypts a value produced by {@link seal} with the same key and `aad`; throws if anything differs. */
export function open(masterKey: Buffer, sealed: string, aad?: string): Buffer {
  assertKey(masterKey);
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION || !parts.slice(1).every((p) => B64URL.test(p)))
    throw failed();
  const [iv, tag, ciphertext] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [
    Buffer,
    Buffer,
    Buffer,
  ];
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw failed();
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
    if (aad !== undefined) decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (error) {
    throw failed(error);
  }
}

/**
 * Parses the configured master key: base64 (or base64url) of exactly 32 random bytes, e.g. from
 * `openssl rand -base64 32`. Throws E_CONFIG naming `masterKey`, never echoing the value.
 */
export function parseMasterKey(base64: string): Buffer {
  const text = base64.trim();
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (key.length !== KEY_BYTES) {
    throw new StrataError('E_CONFIG', `masterKey must be base64 of exactly ${KEY_BYTES} bytes`, {
      key: 'masterKey',
    });
  }
  return key;
}
