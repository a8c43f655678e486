/**
 * @module identity/net-guard
 * Refuses outbound requests made for agents (A2A push and calls, mail webhooks, did:web, the agent
 * directory) toward private, loopback, link-local, CGNAT, multicast and unspecified addresses, so a
 * caller cannot aim Strata at its own network (SSRF). The check runs inside the socket's DNS lookup (`guardedLookup`), so the address
 * checked is the address connected to: a name that resolves to a public address at check time and a
 * private one at connect time (DNS rebinding) is still refused.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { StrataError } from '../kernel/errors.ts';

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** Whether an IP address (v4, v6 or v4-mapped v6) is outside the public internet. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return BLOCKED.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family === 6) return BLOCKED.check(address, 'ipv6');
  return true;
}

const refuse = (url: string, reason: string): StrataError =>
  new StrataError('E_A2A_PUSH_URL_REFUSED', `refused ${url}: ${reason}`, { url, reason });

/**
 * Checks the URL's scheme and, for an IP literal, its address; names are checked at connect time by
 * {@link guardedLookup}. Throws `E_A2A_PUSH_URL_REFUSED`.
 */
export function assertOutboundUrl(raw: string, options: { allowPrivate: boolean }): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse(raw, 'not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse(raw, 'only http(s) is allowed');
  if (url.username || url.password) throw refuse(raw, 'credentials in the URL are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivate && (host === 'localhost' || host.endsWith('.localhost'))) {
    throw refuse(raw, 'loopback host');
  }
  if (!options.allowPrivate && isIP(host) !== 0 && isPrivateAddress(host)) {
    throw refuse(raw, `private address ${host}`);
  }
  return url;
}

/** Checks a name's addresses now (used before `fetch`, which cannot take a lookup hook). */
export async function assertPublicHost(raw: string, options: { allowPrivate: boolean }): Promise<URL> {
  const url = assertOutboundUrl(raw, options);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (options.allowPrivate || isIP(host) !== 0) return url;
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) => {
    dnsLookup(host, { all: true }, (error, list) => (error ? reject(error) : resolve(list)));
  }).catch((error: unknown) => {
    throw refuse(raw, `cannot resolve ${host}: ${(error as Error).message}`);
  });
  const bad = addresses.find((a) => isPrivateAddress(a.address));
  if (bad) throw refuse(raw, `${host} resolves to private address ${bad.address}`);
  return url;
}

/** A `lookup` for `http.request` that fails the connection when a name resolves to a private address. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const list = addresses;
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(refuse(hostname, `resolves to private address ${bad.address}`), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0];
    if (!first) return callback(refuse(hostname, 'no address'), '', 0);
    return callback(null, first.address, first.family);
  });
};
