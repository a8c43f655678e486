/**
 * SPF, DKIM, DMARC and ARC verdicts from mailauth, reduced to what is stored with every message.
 * Anything but `pass` counts as unauthenticated: mailauth reports a body changed after signing as
 * DKIM `neutral`, not `fail`, so "not failed" must never be read as "authenticated".
 *
 * The DNS resolver is pluggable: production passes none (the system resolver), tests pass
 * {@link memoryResolver} over an in-memory zone.
 */
import type { DNSResolver } from 'mailauth';

export type { DNSResolver };

export interface DkimVerdict {
  readonly domain: string;
  readonly selector: string;
  readonly result: string;
  readonly aligned: boolean;
}

export interface AuthVerdicts {
  readonly spf: { readonly result: string; readonly domain: string | null };
  readonly dkim: readonly DkimVerdict[];
  readonly dmarc: { readonly result: string; readonly policy: string | null; readonly domain: string | null };
  readonly arc: { readonly result: string };
  /** DMARC passed: the From domain is vouched for by an aligned SPF or DKIM pass. */
  readonly authenticated: boolean;
}

export interface AuthInput {
  readonly raw: Buffer;
  readonly ip: string;
  readonly helo: string;
  readonly mailFrom: string;
  /** The host name this MTA reports in Authentication-Results. */
  readonly mta: string;
  readonly resolver?: DNSResolver;
}

/** Runs every check and keeps the verdicts; never throws for a bad message, only for a broken resolver. */
export async function verifyMessage(input: AuthInput): Promise<AuthVerdicts> {
  // Loaded on the first message, not with the layer: mailauth and its ASN.1 / X.509 dependencies
  // are ~300 modules every CLI command and worker process would otherwise load and never use.
  const { authenticate } = await import('mailauth');
  const result = await authenticate(input.raw, {
    ip: input.ip,
    helo: input.helo,
    sender: input.mailFrom,
    mta: input.mta,
    disableBimi: true,
    ...(input.resolver ? { resolver: input.resolver } : {}),
  });
  const dkim = result.dkim.results.map((r) => ({
    domain: r.signingDomain ?? '',
    selector: r.selector ?? '',
    result: r.status.result,
    aligned: Boolean((r.status as { aligned?: unknown }).aligned),
  }));
  const dmarc = result.dmarc
    ? {
        result: result.dmarc.status.result,
        policy: result.dmarc.policy || null,
        domain: result.dmarc.domain || null,
      }
    : { result: 'none', policy: null, domain: null };
  return {
    spf: result.spf
      ? { result: result.spf.status.result, domain: result.spf.domain || null }
      : { result: 'none', domain: null },
    dkim,
    dmarc,
    arc: { result: result.arc ? result.arc.status.result : 'none' },
    authenticated: dmarc.result === 'pass',
  };
}

/** Zone data for {@link memoryResolver}: `"<name> <TYPE>"` → records (TXT as strings). */
export type MemoryZone = Readonly<Record<string, readonly string[]>>;

function dnsError(code: 'ENOTFOUND' | 'ENODATA', name: string): Error {
  return Object.assign(new Error(`${code} ${name}`), { code });
}

/**
 * A resolver over an in-memory zone, for tests and offline runs. A missing name answers NXDOMAIN
 * (ENOTFOUND); a name with records of another type answers ENODATA, as a real resolver does.
 */
export function memoryResolver(zone: MemoryZone): DNSResolver {
  const names = new Set(Object.keys(zone).map((k) => k.slice(0, k.lastIndexOf(' ')).toLowerCase()));
  return (name: string, type: string) => {
    const key = `${name} ${type}`.toLowerCase();
    const found = Object.entries(zone).find(([k]) => k.toLowerCase() === key)?.[1];
    if (found) return Promise.resolve(type.toUpperCase() === 'TXT' ? found.map((r) => [r]) : [...found]);
    return Promise.reject(dnsError(names.has(name.toLowerCase()) ? 'ENODATA' : 'ENOTFOUND', name));
  };
}
