/**
 * @module tools/mcp/gateway
 * The MCP client gateway: the MCP servers registered per tenant, each a supervised
 * {@link McpConnection}, and their tools as Strata tools named `mcp.<server>.<tool>`.
 *
 * Retry policy: a tool the server marks idempotent or read-only (`idempotentHint`, `readOnlyHint`)
 * is retried `retries` more times (default 1) after a timeout or a lost connection; any other tool
 * is called exactly once, because repeating it may repeat its effect.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { StrataError, type Logger } from '../../kernel/index.ts';
import { SEGMENT, toSegment, type Tool, type ToolProvider } from '../types.ts';
import {
  McpConnection,
  type ConnectSecrets,
  type McpServerConfig,
  type McpServerStatus,
} from './connection.ts';

export interface McpGatewayOptions {
  readonly logger: Logger;
  /** Resolves a server's vault references (HTTP auth header, secret env) at each (re)connect. */
  readonly secrets: (tenantId: string, config: McpServerConfig) => Promise<ConnectSecrets>;
}

interface Entry {
  readonly connection: McpConnection;
  /** Tools built from the connection's cache, rebuilt when its version moves. */
  tools: Map<string, Tool>;
  version: number;
}

export class McpGateway implements ToolProvider {
  readonly #options: McpGatewayOptions;
  readonly #tenants = new Map<string, Map<string, Entry>>();

  constructor(options: McpGatewayOptions) {
    this.#options = options;
  }

  /** Registers and starts connecting; replaces (and stops) a server of the same name. */
  async add(tenantId: string, config: McpServerConfig): Promise<McpConnection> {
    if (!SEGMENT.test(config.name)) {
      throw new StrataError('E_INVALID_INPUT', 'an MCP server name is 1-64 letters, digits, _ or -', {
        name: config.name,
      });
    }
    await this.remove(tenantId, config.name).catch(() => undefined);
    const connection = new McpConnection({
      config,
      logger: this.#options.logger,
      secrets: () => this.#options.secrets(tenantId, config),
    });
    let servers = this.#tenants.get(tenantId);
    if (!servers) this.#tenants.set(tenantId, (servers = new Map<string, Entry>()));
    servers.set(config.name, { connection, tools: new Map(), version: -1 });
    connection.start();
    return connection;
  }

  async remove(tenantId: string, name: string): Promise<void> {
    const entry = this.#tenants.get(tenantId)?.get(name);
    if (!entry) throw new StrataError('E_NOT_FOUND', `MCP server "${name}" not found`, { name });
    this.#tenants.get(tenantId)?.delete(name);
    await entry.connection.stop();
  }

  has(tenantId: string, name: string): boolean {
    return this.#tenants.get(tenantId)?.has(name) ?? false;
  }

  names(tenantId: string): string[] {
    return [...(this.#tenants.get(tenantId)?.keys() ?? [])];
  }

  connection(tenantId: string, name: string): McpConnection | undefined {
    return this.#tenants.get(tenantId)?.get(name)?.connection;
  }

  /** Waits (each bounded by its connect timeout) until every server's first attempt has ended. */
  async settled(tenantId: string): Promise<void> {
    await Promise.all([...(this.#tenants.get(tenantId)?.values() ?? [])].map((e) => e.connection.settled()));
  }

  status(tenantId: string): McpServerStatus[] {
    return [...(this.#tenants.get(tenantId)?.values() ?? [])].map((e) => e.connection.status());
  }

  tools(tenantId: string): Tool[] {
    const out: Tool[] = [];
    for (const entry of this.#tenants.get(tenantId)?.values() ?? [])
      out.push(...this.#toolsOf(entry).values());
    return out;
  }

  /** The tool `mcp.<server>.<tool>`, without building the others. */
  find(tenantId: string, name: string): Tool | undefined {
    const [prefix, server, ...rest] = name.split('.');
    if (prefix !== 'mcp' || server === undefined || rest.length !== 1) return undefined;
    const entry = this.#tenants.get(tenantId)?.get(server);
    return entry ? this.#toolsOf(entry).get(name) : undefined;
  }

  async close(): Promise<void> {
    const all = [...this.#tenants.values()].flatMap((servers) => [...servers.values()]);
    this.#tenants.clear();
    await Promise.all(all.map((e) => e.connection.stop()));
  }

  #toolsOf(entry: Entry): Map<string, Tool> {
    const { connection } = entry;
    if (entry.version === connection.version) return entry.tools;
    const tools = new Map<string, Tool>();
    for (const mcpTool of connection.tools) {
      const tool = toTool(connection, mcpTool);
      if (!tools.has(tool.name)) tools.set(tool.name, tool);
    }
    entry.tools = tools;
    entry.version = connection.version;
    return tools;
  }
}

function toTool(connection: McpConnection, mcpTool: McpTool): Tool {
  const { config } = connection;
  const idempotent =
    mcpTool.annotations?.idempotentHint === true || mcpTool.annotations?.readOnlyHint === true;
  const attempts = 1 + (idempotent ? Math.max(0, config.retries ?? 1) : 0);
  return {
    name: `mcp.${config.name}.${toSegment(mcpTool.name)}`,
    description: mcpTool.description ?? mcpTool.title ?? mcpTool.name,
    source: 'mcp',
    provider: config.name,
    inputSchema: mcpTool.inputSchema,
    ...(mcpTool.outputSchema ? { outputSchema: mcpTool.outputSchema } : {}),
    ...(config.connection ? { connection: config.connection } : {}),
    idempotent,
    ...(config.rateLimit ? { rateLimit: config.rateLimit } : {}),
    invoke: async (args, ctx) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await connection.callTool(mcpTool.name, args, ctx.signal);
        } catch (error) {
          const failure = error as StrataError;
          if (!failure.retryable || attempt >= attempts || ctx.signal.aborted) throw failure;
          await sleep(50 * 2 ** (attempt - 1), undefined, { signal: ctx.signal });
        }
      }
    },
  };
}
