/**
 * @module tools/mcp/discover
 * Finds an MCP server from a URL and checks that its server card tells the truth:
 *
 *   catalog (`/.well-known/ai-catalog.json` or `/.well-known/mcp/catalog.json`)
 *     → its `application/mcp-server-card+json` entry → the server card
 *     → the card's Streamable HTTP remote → a live connection (the SDK `Client`)
 *     → the card compared with `initialize` and `tools/list` (see `card-check.ts`).
 *
 * The URL may be a catalog, a base URL (`https://host/`: the catalogs are looked up), a server
 * card, or an MCP endpoint (`<endpoint>/server-card` is tried). Only http(s) URLs are followed.
 * A contradiction is `E_MCP_CARD_MISMATCH` naming each field; nothing is registered here.
 *
 * The bearer credential goes only to the MCP endpoint, and only when that endpoint has the origin
 * of the URL the caller gave: a card is public and unverified, so it must not be able to point a
 * caller's credential at a server of its choosing.
 */
import type { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Implementation, ServerCapabilities, Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { StrataError } from '../../kernel/index.ts';
import { toSegment } from '../types.ts';
import { cardDifferences } from './card-check.ts';
import { SERVER_CARD_MEDIA_TYPE, serverCardSchema, type ServerCard } from './server-card.ts';

export interface DiscoverOptions {
  /** Sent as `Authorization: Bearer …` to the MCP endpoint (never to a catalog or card). */
  readonly bearer?: string;
  /** The catalog entry (its `identifier`) when a catalog lists more than one MCP server. */
  readonly entry?: string;
  /** Per request (each fetch, the handshake, each tools/list page). @default 10_000 */
  readonly timeoutMs?: number;
}

export interface DiscoveryReport {
  /** A gateway name for the server: the card name's part after the `/`, as one tool-name segment. */
  readonly name: string;
  readonly catalogUrl?: string;
  readonly cardUrl: string;
  readonly card: ServerCard;
  /** The Streamable HTTP endpoint the card names and the live server answered at. */
  readonly endpoint: string;
  readonly server: Implementation;
  readonly protocolVersion?: string;
  readonly capabilities: ServerCapabilities;
  readonly tools: readonly McpTool[];
}

const MAX_DOCUMENT_BYTES = 256 * 1024;
const MAX_TOOLS = 10_000;

const catalogSchema = z.looseObject({
  entries: z.array(z.looseObject({ identifier: z.string(), type: z.string(), url: z.string() })),
});

function httpUrl(value: string, base?: string): URL {
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    throw new StrataError('E_INVALID_INPUT', `not a URL: ${value.slice(0, 200)}`, {
      url: value.slice(0, 200),
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new StrataError('E_INVALID_INPUT', 'only http(s) URLs are followed', {
      url: url.href.slice(0, 200),
    });
  return url;
}

const invalid = (url: string, reason: string): StrataError =>
  new StrataError('E_MCP_CARD_INVALID', `${url}: ${reason}`, { url, reason });

async function fetchJson(url: URL, timeoutMs: number): Promise<{ url: string; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: `${SERVER_CARD_MEDIA_TYPE}, application/ai-catalog+json, application/json` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new StrataError('E_UNAVAILABLE', `cannot fetch ${url.href}`, { url: url.href }, { cause });
  }
  const finalUrl = res.url === '' ? url.href : res.url;
  httpUrl(finalUrl);
  if (!res.ok) {
    await res.body?.cancel();
    throw invalid(finalUrl, `HTTP ${res.status}`);
  }
  const text = await res.text();
  if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) throw invalid(finalUrl, 'document larger than 256 KiB');
  try {
    return { url: finalUrl, body: JSON.parse(text) as unknown };
  } catch {
    throw invalid(finalUrl, 'not JSON');
  }
}

/** The documents a URL may lead to, in the order they are tried. */
function candidatesFor(url: URL): URL[] {
  if (url.pathname === '/' && url.search === '')
    return [new URL('/.well-known/ai-catalog.json', url), new URL('/.well-known/mcp/catalog.json', url)];
  const out = [url];
  if (!/(server-card(\.json)?|\.json)$/.test(url.pathname))
    out.push(new URL(`${url.href.replace(/\/$/, '')}/server-card`));
  return out;
}

async function firstDocument(url: URL, timeoutMs: number): Promise<{ url: string; body: unknown }> {
  let last: unknown;
  for (const candidate of candidatesFor(url)) {
    try {
      return await fetchJson(candidate, timeoutMs);
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

function cardEntry(catalogUrl: string, body: unknown, wanted: string | undefined): URL {
  const parsed = catalogSchema.safeParse(body);
  if (!parsed.success) throw invalid(catalogUrl, 'not a catalog (entries with identifier, type, url)');
  const entries = parsed.data.entries.filter(
    (e) => e.type === SERVER_CARD_MEDIA_TYPE && (wanted === undefined || e.identifier === wanted),
  );
  const [entry, ...others] = entries;
  if (!entry) throw invalid(catalogUrl, `no ${SERVER_CARD_MEDIA_TYPE} entry${wanted ? ` ${wanted}` : ''}`);
  if (others.length > 0) {
    const identifiers = entries.map((e) => e.identifier);
    throw new StrataError(
      'E_BAD_REQUEST',
      'the catalog lists several MCP servers; choose one by identifier',
      {
        url: catalogUrl,
        identifiers,
      },
    );
  }
  return httpUrl(entry.url, catalogUrl);
}

/** Catalog (optional) → card. */
async function findCard(
  input: URL,
  options: DiscoverOptions,
): Promise<{ catalogUrl?: string; cardUrl: string; card: ServerCard }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let doc = await firstDocument(input, timeoutMs);
  let catalogUrl: string | undefined;
  if (typeof doc.body === 'object' && doc.body !== null && 'entries' in doc.body) {
    catalogUrl = doc.url;
    doc = await fetchJson(cardEntry(doc.url, doc.body, options.entry), timeoutMs);
  }
  const card = serverCardSchema.safeParse(doc.body);
  if (!card.success) throw invalid(doc.url, `not a server card: ${z.prettifyError(card.error)}`);
  return { ...(catalogUrl ? { catalogUrl } : {}), cardUrl: doc.url, card: card.data };
}

function connectError(endpoint: string, error: unknown, HttpError: typeof StreamableHTTPError): StrataError {
  const status = error instanceof HttpError ? error.code : undefined;
  if (status === 401 || status === 403)
    return new StrataError('E_UNAUTHENTICATED', `${endpoint} refused the credential (HTTP ${status})`, {
      url: endpoint,
    });
  const reason = error instanceof Error ? error.message : String(error);
  return new StrataError('E_UNAVAILABLE', `${endpoint} did not complete the MCP handshake: ${reason}`, {
    url: endpoint,
  });
}

async function connectLive(
  endpoint: URL,
  options: DiscoverOptions,
): Promise<Omit<DiscoveryReport, 'name' | 'card' | 'cardUrl'>> {
  const timeout = options.timeoutMs ?? 10_000;
  const headers: Record<string, string> = options.bearer ? { authorization: `Bearer ${options.bearer}` } : {};
  // The SDK client (~200 modules with ajv) is loaded by a discovery, not with the tools layer.
  const [{ Client }, { StreamableHTTPClientTransport, StreamableHTTPError }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
  ]);
  const transport = new StreamableHTTPClientTransport(endpoint, { requestInit: { headers } });
  const client = new Client({ name: 'strata-discovery', version: '0.1.0' }, { capabilities: {} });
  try {
    await client.connect(transport, { timeout });
    const capabilities = client.getServerCapabilities() ?? {};
    const tools: McpTool[] = [];
    let cursor: string | undefined;
    if (capabilities.tools) {
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor !== undefined && tools.length < MAX_TOOLS);
    }
    const server = client.getServerVersion() ?? { name: '', version: '' };
    const protocolVersion = transport.protocolVersion;
    return {
      endpoint: endpoint.href,
      server,
      capabilities,
      tools,
      ...(protocolVersion ? { protocolVersion } : {}),
    };
  } catch (error) {
    throw connectError(endpoint.href, error, StreamableHTTPError);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Walks catalog → card → live server and returns what it found if the card holds up. */
export async function discoverMcpServer(
  url: string,
  options: DiscoverOptions = {},
): Promise<DiscoveryReport> {
  const input = httpUrl(url);
  const found = await findCard(input, options);
  const remote = found.card.remotes?.find((r) => r.type === 'streamable-http');
  if (!remote) throw invalid(found.cardUrl, 'the card names no streamable-http remote');
  if (/\{[A-Za-z_]/.test(remote.url))
    throw invalid(found.cardUrl, 'the remote URL is a template; fill it in and pass the endpoint');
  const endpoint = httpUrl(remote.url, found.cardUrl);
  if (options.bearer !== undefined && endpoint.origin !== input.origin)
    throw invalid(
      found.cardUrl,
      `the card points at ${endpoint.origin}; the credential is only sent to ${input.origin}`,
    );
  const live = await connectLive(endpoint, options);
  const differences = cardDifferences(found.card, remote, {
    info: live.server,
    capabilities: live.capabilities,
    tools: live.tools,
    ...(live.protocolVersion ? { protocolVersion: live.protocolVersion } : {}),
  });
  if (differences.length > 0) {
    const fields = differences.map((d) => d.field);
    throw new StrataError(
      'E_MCP_CARD_MISMATCH',
      `the server card at ${found.cardUrl} contradicts the live server: ${fields.join(', ')}`,
      { cardUrl: found.cardUrl, fields, differences },
    );
  }
  const name = toSegment(found.card.name.slice(found.card.name.lastIndexOf('/') + 1)) || 'mcp';
  return { name, ...found, ...live };
}
