/**
 * @module strata/tools
 * Tools for agents: a registry of native tools, an MCP client gateway (stdio and Streamable HTTP
 * servers, supervised), OpenAPI 3 connectors, a credential vault, and Strata itself as an MCP
 * server. Every call is the syscall `tools.call`: capability-checked per tool, metered, audited and
 * traced. Any new export added here becomes public API.
 *
 * @example
 * const tools = await ToolsLayer.open({ store, masterKey });
 * for (const s of toolsSyscalls(tools)) kernel.register(s);
 * await kernel.call('tools.mcp.add', { name: 'fs', transport: 'stdio', command: 'my-mcp-server' }, { principal });
 * await kernel.call('tools.call', { tool: 'mcp.fs.read_file', arguments: { path: 'a.txt' } }, { principal });
 */
export const LAYER = { name: 'tools', status: 'available', issue: 6 } as const;

export { ToolsLayer, infoOf, mayCall, type ToolsLayerOptions, type ToolStats } from './layer.ts';
export { toolsSyscalls } from './syscalls.ts';
export { defineTool, type NativeToolDefinition } from './native.ts';
export {
  toolResource,
  type ContentBlock,
  type JsonSchema,
  type RateLimit,
  type Tool,
  type ToolCallContext,
  type ToolInfo,
  type ToolResult,
  type ToolSource,
} from './types.ts';
export type { McpHealth, McpServerConfig, McpServerStatus } from './mcp/connection.ts';
export { mcpHealth } from './health.ts';
export { attachTools, callForMcp, createStrataMcpServer, mcpToolsFor, toolsOf } from './mcp/strata-server.ts';
export {
  SERVER_CARD_MEDIA_TYPE,
  serverCardSchema,
  strataServerCard,
  type ServerCard,
} from './mcp/server-card.ts';
export { discoverMcpServer, type DiscoverOptions, type DiscoveryReport } from './mcp/discover.ts';
export { loadOpenApi, type OpenApiDocument } from './openapi/document.ts';
export type { OpenApiConnectorConfig } from './openapi/connector.ts';
export {
  Vault,
  type ConnectionInfo,
  type ConnectionMeta,
  type ConnectionSecrets,
  type CredentialKind,
} from './vault/vault.ts';
export { toolsMigrations, TOOLS_LAYER } from './migrations.ts';
