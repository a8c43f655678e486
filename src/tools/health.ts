/**
 * @module tools/health
 * MCP servers' health readings (kernel/health.ts) from the gateway's connections as they are: a
 * server that stopped answering is unhealthy; connecting, ready or deliberately stopped ones are not.
 * Read from the connections this process holds; reading never starts or syncs a server.
 */
import type { DriverHealth } from '../kernel/index.ts';
import type { McpServerStatus } from './mcp/connection.ts';

export function mcpHealth(servers: readonly McpServerStatus[]): DriverHealth[] {
  return servers.map((s): DriverHealth => {
    const base = { id: `mcp.${s.name}`, layer: 'tools', name: `MCP server ${s.name}`, since: null };
    return s.health === 'unhealthy'
      ? {
          ...base,
          status: 'unhealthy',
          reason: `not answering${s.lastError ? `: ${s.lastError}` : ''} (restarts ${s.restarts})`,
        }
      : { ...base, status: 'healthy', reason: `${s.health}, ${s.tools} tools` };
  });
}
