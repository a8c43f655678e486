/**
 * @module tools/mcp/server-card
 * MCP Server Cards (SEP-2127): a static JSON document a client reads before it connects, naming
 * the server and where to reach it. The shape follows the experimental server-card extension
 * (schema v2: `$schema`, `name` in reverse-DNS form, `version`, `description`, `title`, `remotes`,
 * `_meta`) and is served at `<streamable-http-url>/server-card`, the location the draft reserves.
 *
 * v2 cards no longer carry `capabilities` or `tools` (v1 did): primitives are listed at runtime.
 * Strata keeps its capabilities in `_meta["dev.strata/capabilities"]`, so a client can still check
 * them against `initialize`; {@link declaredCapabilities} reads either place. Strata lists no tools
 * on its card: which tools a caller sees depends on that caller's grants.
 *
 * @example
 * const card = strataServerCard('https://strata.example/mcp');
 * // { name: 'example.strata/strata', version: '0.1.0', remotes: [{ type: 'streamable-http', … }] }
 */
import { SUPPORTED_PROTOCOL_VERSIONS, type ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { STRATA_MCP_CAPABILITIES, STRATA_MCP_SERVER_INFO } from './strata-server.ts';

export const SERVER_CARD_SCHEMA = 'https://static.modelcontextprotocol.io/schemas/v2/server-card.schema.json';
export const SERVER_CARD_MEDIA_TYPE = 'application/mcp-server-card+json';
/** `_meta` key (reverse-DNS namespaced, as the card's extension point asks) for capabilities. */
export const CAPABILITIES_META_KEY = 'dev.strata/capabilities';

const remote = z.looseObject({
  type: z.enum(['streamable-http', 'sse']),
  url: z.string().min(1),
  supportedProtocolVersions: z.array(z.string()).optional(),
  headers: z.array(z.looseObject({ name: z.string(), isRequired: z.boolean().optional() })).optional(),
});

const cardTool = z.looseObject({ name: z.string().min(1), description: z.string().optional() });

/** What a client reads from a card; unknown members are kept (the card is open to extensions). */
export const serverCardSchema = z.looseObject({
  $schema: z.string().optional(),
  name: z.string().min(1).max(200),
  version: z.string().min(1).max(255),
  description: z.string().optional(),
  title: z.string().optional(),
  remotes: z.array(remote).optional(),
  /** v1 (SEP-2127 as first drafted): still published by many servers. */
  capabilities: z.record(z.string(), z.unknown()).optional(),
  tools: z.array(cardTool).optional(),
  _meta: z.record(z.string(), z.unknown()).optional(),
});

export type ServerCard = z.infer<typeof serverCardSchema>;
export type ServerCardRemote = z.infer<typeof remote>;

/** The capabilities a card declares: v1's top-level member, else Strata's `_meta` entry. */
export function declaredCapabilities(card: ServerCard): ServerCapabilities | undefined {
  const fromMeta = card._meta?.[CAPABILITIES_META_KEY];
  return card.capabilities ?? (typeof fromMeta === 'object' && fromMeta !== null ? fromMeta : undefined);
}

/** `strata.example.com` → `com.example.strata`: the namespace half of a reverse-DNS name. */
function reverseDns(hostname: string): string {
  const reversed = hostname
    .replace(/^\[|\]$/g, '')
    .split('.')
    .reverse()
    .join('.')
    .replace(/[^a-zA-Z0-9.-]/g, '-');
  return reversed === '' ? 'localhost' : reversed;
}

/**
 * Strata's card for the MCP endpoint at `mcpUrl`. Every member that `initialize` also reports
 * (name, version, capabilities) comes from the constants the live server is built from, so the
 * card cannot drift from it.
 */
export function strataServerCard(mcpUrl: string): ServerCard {
  const { name, version } = STRATA_MCP_SERVER_INFO;
  return {
    $schema: SERVER_CARD_SCHEMA,
    name: `${reverseDns(new URL(mcpUrl).hostname)}/${name}`,
    version,
    title: 'Strata',
    description: 'Strata syscalls and tools as MCP tools; each caller sees what its grants allow.',
    remotes: [
      {
        type: 'streamable-http',
        url: mcpUrl,
        supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
        headers: [
          {
            name: 'Authorization',
            description: 'Bearer <Strata API key or capability token>',
            isRequired: true,
            isSecret: true,
          },
        ],
      },
    ],
    _meta: {
      [CAPABILITIES_META_KEY]: STRATA_MCP_CAPABILITIES,
      'dev.strata/tools': 'per caller: call tools/list once authenticated',
    },
  };
}
