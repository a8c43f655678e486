/**
 * One webhook POST: JSON body, signed headers, bounded time. Outside test mode the connection's DNS
 * lookup refuses private and loopback addresses (`guardedLookup`), so a name that resolved to a
 * public address when the webhook was created cannot be pointed at the internal network later.
 * The response body is drained and ignored: only the status code counts.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isStrataError } from '../../kernel/index.ts';
import { assertOutboundUrl, guardedLookup } from '../net-guard.ts';

export function postWebhook(args: {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
}): Promise<number> {
  const url = assertOutboundUrl(args.url, { allowPrivate: args.allowPrivate });
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          ...args.headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(args.body)),
          'user-agent': 'Strata-Webhooks/1',
        },
        timeout: args.timeoutMs,
        ...(args.allowPrivate ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${args.timeoutMs} ms`)));
    // Node wraps lookup errors; surface the net guard's refusal when that was the cause.
    req.on('error', (e) => reject(isStrataError(e.cause) ? e.cause : e));
    req.end(args.body);
  });
}
