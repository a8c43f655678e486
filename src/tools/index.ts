/**
 * @module strata/tools
 * Tool registry, MCP client gateway, Strata as an MCP server, OpenAPI connectors, credential vault.
 *
 * This layer's code has not landed yet: tracked in issue 6. Until then this entry exports only
 * its status, so `strata/tools` resolves and tools can report what exists.
 */
export const LAYER = { name: 'tools', status: 'planned', issue: 6 } as const;
