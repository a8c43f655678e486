/**
 * Per-domain DKIM keys: RSA-2048 (what every verifier accepts and nodemailer signs with), generated
 * on the first mailbox of a domain, the private key sealed with the master key (bound to its domain
 * by the sealed box's additional data), the public key kept in clear for the DNS record.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { openSealed, seal, type Clock, type Queryable } from '../../kernel/index.ts';

const generate = promisify(generateKeyPair);
const aadOf = (domain: string): string => `mail-dkim:${domain}`;

export interface DkimKey {
  readonly domain: string;
  readonly selector: string;
  /** PEM, PKCS#8; only ever handed to the signer. */
  readonly privateKey: string;
  /** The TXT record value to publish at `<selector>._domainkey.<domain>`. */
  readonly dnsRecord: string;
}

export interface DkimKeysOptions {
  readonly store: Queryable;
  readonly masterKey: Buffer;
  readonly clock: Clock;
  /** @default 'strata' */
  readonly selector?: string;
}

/** Loads and creates the sealed per-domain signing keys. */
export class DkimKeys {
  readonly #options: DkimKeysOptions;
  readonly #cache = new Map<string, DkimKey>();

  constructor(options: DkimKeysOptions) {
    this.#options = options;
  }

  /** The domain's key, generated and stored on first use (a concurrent first use keeps one key). */
  async ensure(domain: string): Promise<DkimKey> {
    const existing = await this.get(domain);
    if (existing) return existing;
    const { publicKey, privateKey } = await generate('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    await this.#options.store.run(
      `INSERT INTO mail_dkim_keys (domain, selector, private_sealed, public_key, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (domain) DO NOTHING`,
      [
        domain,
        this.#options.selector ?? 'strata',
        seal(this.#options.masterKey, Buffer.from(privateKey), aadOf(domain)),
        publicKey.toString('base64'),
        this.#options.clock.now(),
      ],
    );
    const stored = await this.get(domain);
    if (!stored) throw new Error(`DKIM key for ${domain} vanished after insert`);
    return stored;
  }

  /** The domain's key, or undefined when it has none. */
  async get(domain: string): Promise<DkimKey | undefined> {
    const cached = this.#cache.get(domain);
    if (cached) return cached;
    const row = await this.#options.store.get<{
      selector: string;
      private_sealed: string;
      public_key: string;
    }>('SELECT selector, private_sealed, public_key FROM mail_dkim_keys WHERE domain = ?', [domain]);
    if (!row) return undefined;
    const key: DkimKey = {
      domain,
      selector: row.selector,
      privateKey: openSealed(this.#options.masterKey, row.private_sealed, aadOf(domain)).toString('utf8'),
      dnsRecord: `v=DKIM1; k=rsa; p=${row.public_key}`,
    };
    this.#cache.set(domain, key);
    return key;
  }
}
