/**
 * Webhook signatures, in the Standard Webhooks scheme (the one Svix uses), so any of its libraries
 * verifies Strata's deliveries too:
 *
 *   webhook-id:        the event id (`evt_…`), the same on every retry: deduplicate on it
 *   webhook-timestamp: Unix seconds when this attempt was signed
 *   webhook-signature: `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`))
 *
 * The key is the base64 part of the secret `whsec_<base64>`. The signed content covers the
 * timestamp and the exact body bytes (and the id), so a captured request cannot be altered, and
 * receivers refuse timestamps outside a window (5 minutes by default) so it cannot be replayed
 * later. Several space-separated signatures may be sent (during a secret rotation); one match is
 * enough.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { StrataError } from '../../kernel/errors.ts';

/** How far a delivery's timestamp may be from the receiver's clock. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const PREFIX = 'whsec_';

/** A fresh secret: `whsec_` and 32 random bytes in base64. */
export const newWebhookSecret = (): string => PREFIX + randomBytes(32).toString('base64');

function keyOf(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  if (key.length < 16) throw new StrataError('E_INVALID_INPUT', 'a webhook secret needs at least 16 bytes');
  return key;
}

const signature = (secret: string, id: string, timestamp: string, body: string): string =>
  createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');

/** The three headers for one delivery attempt. */
export function signWebhook(
  secret: string,
  message: { id: string; timestamp: number; body: string },
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = String(message.timestamp);
  return {
    'webhook-id': message.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature(secret, message.id, timestamp, message.body)}`,
  };
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string {
  const value = headers instanceof Headers ? headers.get(name) : headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

const refused = (reason: string): StrataError =>
  new StrataError('E_UNAUTHENTICATED', `webhook not verified: ${reason}`, { reason });

/**
 * Verifies a delivery as received (the raw body text, before any JSON parsing) and returns the
 * parsed body. Throws `E_UNAUTHENTICATED` (data.reason) for a missing header, a timestamp outside
 * the window or a signature that does not match.
 */
export function verifyWebhook(
  secret: string,
  headers: HeaderBag,
  body: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): unknown {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures)
    throw refused('missing webhook-id, webhook-timestamp or webhook-signature');
  if (!/^\d{1,12}$/.test(timestamp)) throw refused('malformed timestamp');
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS)) {
    throw refused('timestamp outside the tolerance window');
  }
  const expected = Buffer.from(signature(secret, id, timestamp, body), 'base64');
  const matches = signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw refused('signature mismatch');
  return JSON.parse(body) as unknown;
}
