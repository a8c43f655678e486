/**
 * @module compute/browser/allow-list
 * Which URLs a browser session may load. A session's allow-list is a list of patterns; a request is
 * allowed when one pattern matches its scheme, host, port and path:
 *
 * - `https://example.com` — that origin, any path (the default port of the scheme);
 * - `https://*.example.com` — any subdomain of example.com, and example.com itself;
 * - `http://127.0.0.1:8080/docs/*` — that origin, paths starting with `/docs/`;
 * - `http://localhost:*` — any port;
 * - `https://example.com/login` — exactly that path.
 *
 * Only `http:` and `https:` are ever allowed (no `file:`, `chrome:`, `data:` top-level loads); the
 * query string and fragment are not part of the match. Patterns are validated when a session opens,
 * so a typo fails then, with E_INVALID_INPUT naming the pattern, not later as a refused navigation.
 */
import { StrataError } from '../../kernel/index.ts';

interface Pattern {
  readonly source: string;
  readonly scheme: 'http:' | 'https:';
  /** Lower-case host; with `wildcard`, the suffix after `*.`. */
  readonly host: string;
  readonly wildcard: boolean;
  /** `*` for any port, else the port as a string (the scheme's default when omitted). */
  readonly port: string;
  /** Path to match; ends with `*` for a prefix match. */
  readonly path: string;
}

const PATTERN = /^(https?):\/\/(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\*|\d{1,5}))?(\/[^?#]*)?$/i;
const DEFAULT_PORT = { 'http:': '80', 'https:': '443' } as const;

function parsePattern(source: string): Pattern {
  const match = PATTERN.exec(source.trim());
  if (!match) {
    throw new StrataError(
      'E_INVALID_INPUT',
      `allowUrls: "${source}" is not a URL pattern; use e.g. https://example.com, https://*.example.com/docs/* or http://127.0.0.1:8080`,
      { issues: [{ path: 'allowUrls', message: `bad pattern ${source}` }] },
    );
  }
  const scheme = `${(match[1] as string).toLowerCase()}:` as Pattern['scheme'];
  const rawPath = match[5] ?? '/*';
  return {
    source,
    scheme,
    host: (match[3] as string).toLowerCase(),
    wildcard: match[2] !== undefined,
    port: match[4] ?? DEFAULT_PORT[scheme],
    path: rawPath === '/' ? '/*' : rawPath,
  };
}

function hostMatches(pattern: Pattern, host: string): boolean {
  if (!pattern.wildcard) return host === pattern.host;
  return host === pattern.host || host.endsWith(`.${pattern.host}`);
}

function pathMatches(pattern: Pattern, path: string): boolean {
  if (pattern.path.endsWith('*')) return path.startsWith(pattern.path.slice(0, -1));
  return path === pattern.path;
}

export class AllowList {
  readonly patterns: readonly string[];
  readonly #parsed: readonly Pattern[];

  constructor(patterns: readonly string[]) {
    this.#parsed = patterns.map(parsePattern);
    this.patterns = [...patterns];
  }

  /** Whether `url` may be loaded; anything that is not an absolute http(s) URL is refused. */
  allows(url: string): boolean {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
    if (parsed.username !== '' || parsed.password !== '') return false;
    const port = parsed.port === '' ? DEFAULT_PORT[parsed.protocol] : parsed.port;
    const host = parsed.hostname.toLowerCase();
    return this.#parsed.some(
      (p) =>
        p.scheme === parsed.protocol &&
        hostMatches(p, host) &&
        (p.port === '*' || p.port === port) &&
        pathMatches(p, parsed.pathname),
    );
  }
}

/** Parses a URL the caller gave; E_INVALID_INPUT unless it is an absolute http(s) URL. */
export function parseTargetUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StrataError('E_INVALID_INPUT', `"${url}" is not a valid absolute URL`, {
      issues: [{ path: 'url', message: 'not a URL' }],
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new StrataError(
      'E_INVALID_INPUT',
      `only http and https URLs can be opened, not ${parsed.protocol}`,
      {
        issues: [{ path: 'url', message: 'scheme must be http or https' }],
      },
    );
  }
  return parsed.href;
}
