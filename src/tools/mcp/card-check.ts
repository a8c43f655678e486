/**
 * @module tools/mcp/card-check
 * Compares an MCP Server Card with what the live server says once connected. The draft asks
 * clients to verify a card's claims against the live connection (experimental server-card
 * extension, "Consistency with Runtime Behavior"); SEP-2127 v1 adds that listed primitives must
 * match. Each contradiction is one {@link CardDifference} naming the card field.
 *
 * Rules:
 * - `name`: the live `serverInfo.name` equals the card's name or its part after the `/` (cards
 *   use reverse-DNS names, `com.example/weather`; servers announce `weather`).
 * - `version`, and `title` when both sides give one: equal.
 * - `capabilities` (when the card declares them): the same capabilities present, and the same
 *   `listChanged` / `subscribe` flags.
 * - `remotes.supportedProtocolVersions` (when given): contains the negotiated protocol version.
 * - `tools` (when the card lists any): every listed tool exists live, with the same description
 *   when the card gives one; a live tool the card omits is a contradiction unless the card
 *   declares `tools.listChanged` (a dynamic list).
 */
import type { Implementation, ServerCapabilities, Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { declaredCapabilities, type ServerCard, type ServerCardRemote } from './server-card.ts';

export interface LiveServer {
  readonly info: Implementation;
  readonly capabilities: ServerCapabilities;
  readonly protocolVersion?: string;
  readonly tools: readonly McpTool[];
}

export interface CardDifference {
  /** The card field, e.g. `version`, `capabilities.tools.listChanged`, `tools.add`. */
  readonly field: string;
  readonly card: unknown;
  readonly live: unknown;
}

const FLAGS = ['listChanged', 'subscribe'] as const;

function flag(capability: unknown, name: string): boolean {
  return (
    typeof capability === 'object' &&
    capability !== null &&
    (capability as Record<string, unknown>)[name] === true
  );
}

function capabilityDifferences(declared: ServerCapabilities, live: ServerCapabilities): CardDifference[] {
  const out: CardDifference[] = [];
  const card = declared as Record<string, unknown>;
  const actual = live as Record<string, unknown>;
  for (const key of new Set([...Object.keys(card), ...Object.keys(actual)])) {
    const inCard = card[key] !== undefined;
    const inLive = actual[key] !== undefined;
    if (inCard !== inLive) {
      out.push({ field: `capabilities.${key}`, card: inCard, live: inLive });
      continue;
    }
    for (const name of FLAGS) {
      if (flag(card[key], name) !== flag(actual[key], name))
        out.push({
          field: `capabilities.${key}.${name}`,
          card: flag(card[key], name),
          live: flag(actual[key], name),
        });
    }
  }
  return out;
}

function toolDifferences(card: ServerCard, live: LiveServer): CardDifference[] {
  const listed = card.tools;
  if (!listed) return [];
  const out: CardDifference[] = [];
  const byName = new Map(live.tools.map((t) => [t.name, t]));
  for (const tool of listed) {
    const actual = byName.get(tool.name);
    if (!actual) out.push({ field: `tools.${tool.name}`, card: 'listed', live: 'absent' });
    else if (tool.description !== undefined && tool.description !== actual.description)
      out.push({ field: `tools.${tool.name}.description`, card: tool.description, live: actual.description });
  }
  if (flag(declaredCapabilities(card)?.tools, 'listChanged')) return out;
  const names = new Set(listed.map((t) => t.name));
  for (const tool of live.tools)
    if (!names.has(tool.name)) out.push({ field: `tools.${tool.name}`, card: 'absent', live: 'listed' });
  return out;
}

/** Every field where `card` (and its chosen `remote`) contradicts the live server; empty if none. */
export function cardDifferences(
  card: ServerCard,
  remote: ServerCardRemote,
  live: LiveServer,
): CardDifference[] {
  const out: CardDifference[] = [];
  const shortName = card.name.slice(card.name.lastIndexOf('/') + 1);
  if (card.name !== live.info.name && shortName !== live.info.name)
    out.push({ field: 'name', card: card.name, live: live.info.name });
  if (card.version !== live.info.version)
    out.push({ field: 'version', card: card.version, live: live.info.version });
  if (card.title !== undefined && live.info.title !== undefined && card.title !== live.info.title)
    out.push({ field: 'title', card: card.title, live: live.info.title });
  const declared = declaredCapabilities(card);
  if (declared) out.push(...capabilityDifferences(declared, live.capabilities));
  const versions = remote.supportedProtocolVersions;
  if (versions && live.protocolVersion !== undefined && !versions.includes(live.protocolVersion))
    out.push({ field: 'remotes.supportedProtocolVersions', card: versions, live: live.protocolVersion });
  out.push(...toolDifferences(card, live));
  return out;
}
