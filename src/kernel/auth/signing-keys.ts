/**
 * @module kernel/auth/signing-keys
 * The Ed25519 keys that sign capability tokens, shared by every Strata process on one store. The
 * private key is stored sealed (AES-256-GCM under the master key, bound to its kid), so a copy of the
 * database alone cannot mint tokens. Public keys are looked up by `kid` and cached, so a token signed
 * by another process (or by a key since retired) still verifies. The verifying key is derived from
 * the unsealed private key, never trusted from the `public_jwk` column: someone who can write to the
 * database but lacks the master key cannot plant a key of their own.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Clock } from '../clock.ts';
import { isStrataError, StrataError } from '../errors.ts';
import { open, seal } from '../crypto/sealed-box.ts';
import type { Store } from '../store/store.ts';

export interface ActiveKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

interface KeyRow extends Record<string, unknown> {
  kid: string;
  public_jwk: string;
  private_sealed: string;
}

/** RFC 7638 SHA-256 thumbprints are 43 base64url chars; anything else is not one of our kids. */
const KID = /^[A-Za-z0-9_-]{43}$/;
const aadFor = (kid: string): string => `kernel_signing_keys:${kid}`;

export class SigningKeys {
  readonly #store: Store;
  readonly #masterKey: Buffer;
  readonly #publicKeys = new Map<string, KeyObject>();

  private constructor(store: Store, masterKey: Buffer) {
    this.#store = store;
    this.#masterKey = masterKey;
  }

  /** Loads the active key, creating it when there is none. Safe when several processes race. */
  static async load(options: {
    store: Store;
    clock: Clock;
    masterKey: Buffer;
  }): Promise<{ keys: SigningKeys; active: ActiveKey }> {
    const keys = new SigningKeys(options.store, options.masterKey);
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await options.store.get<KeyRow>(
        'SELECT * FROM kernel_signing_keys WHERE retired_at IS NULL',
      );
      if (row !== undefined) return { keys, active: keys.#unseal(row) };
      try {
        await keys.#create(options.masterKey, options.clock.now());
      } catch (error) {
        // Another process won the race (the one-active-key index refused ours): load theirs.
        if (!isStrataError(error) || error.code !== 'E_CONFLICT') throw error;
      }
    }
    throw new StrataError('E_INTERNAL', 'could not load or create a token signing key');
  }

  /** The public key for `kid`, or `undefined` when no such key exists. */
  async publicKey(kid: string): Promise<KeyObject | undefined> {
    const cached = this.#publicKeys.get(kid);
    if (cached !== undefined || !KID.test(kid)) return cached;
    const row = await this.#store.get<KeyRow>('SELECT * FROM kernel_signing_keys WHERE kid = ?', [kid]);
    if (row === undefined) return undefined;
    try {
      return this.#unseal(row).publicKey;
    } catch {
      return undefined; // a row the master key cannot open was not written by us: trust nothing in it
    }
  }

  /** Every public key, retired ones included: tokens they signed may still be live. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const rows = await this.#store.all<KeyRow>('SELECT * FROM kernel_signing_keys ORDER BY created_at, kid');
    return { keys: rows.map((r) => JSON.parse(r.public_jwk) as JWK) };
  }

  async #create(masterKey: Buffer, now: number): Promise<void> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pub = publicKey.export({ format: 'jwk' });
    const kid = await calculateJwkThumbprint({ kty: pub.kty, crv: pub.crv, x: pub.x }, 'sha256');
    const publicJwk: JWK = { kty: pub.kty, crv: pub.crv, x: pub.x, kid, alg: 'EdDSA', use: 'sig' };
    const privateJwk = Buffer.from(JSON.stringify(privateKey.export({ format: 'jwk' })), 'utf8');
    await this.#store.run(
      'INSERT INTO kernel_signing_keys (kid, public_jwk, private_sealed, created_at) VALUES (?, ?, ?, ?)',
      [kid, JSON.stringify(publicJwk), seal(masterKey, privateJwk, aadFor(kid)), now],
    );
  }

  #unseal(row: KeyRow): ActiveKey & { publicKey: KeyObject } {
    let jwk: Buffer;
    try {
      jwk = open(this.#masterKey, row.private_sealed, aadFor(row.kid));
    } catch (error) {
      throw new StrataError(
        'E_CONFIG',
        'masterKey does not open the stored token signing key',
        {
          key: 'masterKey',
        },
        { cause: error },
      );
    }
    const privateKey = createPrivateKey({
      key: JSON.parse(jwk.toString('utf8')) as JWK & { kty: string },
      format: 'jwk',
    });
    const publicKey = createPublicKey(privateKey);
    this.#publicKeys.set(row.kid, publicKey);
    return { kid: row.kid, privateKey, publicKey };
  }
}
