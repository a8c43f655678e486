/**
 * @module tools/types
 * The tools layer's vocabulary.
 *
 * Glossary
 * - **Tool**: something an agent can call by name with JSON arguments, described by a JSON Schema
 *   for its input (and optionally its structured output). Every call is the syscall `tools.call`.
 * - **Source**: where a tool comes from: `native` (defined in process with zod), `mcp` (a tool of
 *   a registered MCP server, named `mcp.<server>.<tool>`) or `openapi` (one operation of an
 *   OpenAPI connector, named `<connector>.<operation>`).
 * - **Resource**: a tool's grant resource is `tools/` + its name with `.` turned into `/`, so
 *   `tools.call@tools/mcp/github/*` grants every tool of the `github` MCP server and nothing else.
 * - **Connection**: a named credential in the vault (API key, bearer token or OAuth2 client),
 *   tenant-wide or owned by one principal (a connected account). Tools that need auth name their
 *   connection; the secret is injected into the outgoing request only.
 * - **Result**: what a call returns, shaped like an MCP `CallToolResult`: `content` blocks,
 *   optional `structuredContent`, and `isError` for failures the tool itself reports.
 */

/** A JSON Schema object (draft 2020-12 or the OpenAPI 3 dialect). */
export type JsonSchema = Record<string, unknown>;

export type ToolSource = 'native' | 'mcp' | 'openapi';

/** A content block as MCP defines it (`text`, `image`, `resource`, …). */
export type ContentBlock = { type: string; [key: string]: unknown };

export interface ToolResult {
  content: ContentBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** Token-bucket limit applied per tenant to each tool of a source. */
export interface RateLimit {
  /** Sustained calls per second. */
  readonly perSecond: number;
  /** Calls allowed in a burst. @default perSecond */
  readonly burst?: number;
}

export interface ToolCallContext {
  readonly tenantId: string;
  readonly principalId: string;
  /** Aborted on the syscall's timeout or when the caller gives up. */
  readonly signal: AbortSignal;
}

/** What a tool is, without how to call it: safe to list and to send to agents. */
export interface ToolInfo {
  readonly name: string;
  readonly description: string;
  readonly source: ToolSource;
  readonly inputSchema: JsonSchema;
  readonly outputSchema?: JsonSchema;
  /** The MCP server or OpenAPI connector that provides the tool. */
  readonly provider?: string;
  /** The vault connection whose credential the call carries. */
  readonly connection?: string;
  /** Whether calling twice has the same effect as once (MCP `idempotentHint`/`readOnlyHint`). */
  readonly idempotent?: boolean;
  /** Estimated cost of one call in micro-units, recorded by metering. @default 0 */
  readonly costMicros?: number;
}

export interface Tool extends ToolInfo {
  readonly rateLimit?: RateLimit;
  /** Calls the tool; arguments were already validated against `inputSchema`. */
  invoke(args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult>;
}

/** Anything that contributes tools for a tenant (native tools, the MCP gateway, OpenAPI connectors). */
export interface ToolProvider {
  tools(tenantId: string): readonly Tool[];
}

/** A tool's grant resource: `tools/<name with . as />`. */
export function toolResource(name: string): string {
  return `tools/${name.replaceAll('.', '/')}`;
}

/** Identifier segments inside tool names: letters, digits, `_` and `-`. */
export const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

/** Turns any upstream name into one tool-name segment (`get pet/by id` → `get_pet_by_id`). */
export function toSegment(raw: string): string {
  const cleaned = raw
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 64);
  return cleaned === '' ? 'tool' : cleaned;
}
