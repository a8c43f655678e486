/**
 * @module identity/a2a/catalog
 * The AI Catalog (`/.well-known/ai-catalog.json`, Agent-Card/ai-catalog draft): one entry per
 * exposed A2A agent card and, when given, one for Strata's MCP server card. Entries carry the
 * catalog's required members (identifier, displayName, type, url); identifiers follow the
 * domain-anchored `urn:air:<publisher>:<name>` convention.
 */
import type { A2aService } from './service.ts';

export const AI_CATALOG_MEDIA_TYPE = 'application/ai-catalog+json';
export const A2A_CARD_MEDIA_TYPE = 'application/a2a-agent-card+json';
export const MCP_CARD_MEDIA_TYPE = 'application/mcp-server-card+json';

export interface AiCatalogEntry {
  readonly identifier: string;
  readonly displayName: string;
  readonly type: string;
  readonly url: string;
  readonly description?: string;
}

export interface AiCatalog {
  readonly specVersion: string;
  readonly entries: readonly AiCatalogEntry[];
}

/** The catalog of a service: its agents' cards (sorted by name), then the MCP server card. */
export function buildAiCatalog(service: A2aService): AiCatalog {
  const publisher = new URL(service.options.baseUrl).host;
  const entries: AiCatalogEntry[] = [...service.agents.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((a) => ({
      identifier: `urn:air:${publisher}:a2a:${a.name}`,
      displayName: a.name,
      type: A2A_CARD_MEDIA_TYPE,
      url: a.cardUrl,
      description: a.card.description,
    }));
  const mcp = service.options.mcpServerCardUrl;
  if (mcp) {
    entries.push({
      identifier: `urn:air:${publisher}:mcp:strata`,
      displayName: 'Strata MCP server',
      type: MCP_CARD_MEDIA_TYPE,
      url: mcp,
    });
  }
  return { specVersion: 'draft', entries };
}
