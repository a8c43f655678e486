/**
 * @module tools/layer
 * The tools layer in one object: native tools, the MCP gateway, OpenAPI connectors, the vault,
 * per-tool rate limits and call statistics. Its syscalls (`syscalls.ts`) are the only way agents
 * reach it; surfaces (the MCP endpoint) use {@link ToolsLayer.listFor} to describe what a caller
 * may call, and make every call through the `tools.call` syscall.
 *
 * Sources (MCP servers, OpenAPI connectors) are stored per tenant in `tools_sources`, so every
 * process sharing the store sees the same catalog: a process re-reads the tenant's sources at most
 * once per `syncIntervalMs` and starts, replaces or stops what changed.
 */
import {
  matches,
  silentLogger,
  StrataError,
  systemClock,
  type Clock,
  type Logger,
  type Principal,
  type Store,
} from '../kernel/index.ts';
import type { ConnectSecrets, McpServerConfig, McpServerStatus } from './mcp/connection.ts';
import { McpGateway } from './mcp/gateway.ts';
import { connectorTools, type OpenApiConnectorConfig } from './openapi/connector.ts';
import { loadOpenApi, type OpenApiDocument } from './openapi/document.ts';
import { RateLimiter } from './rate-limit.ts';
import { assertInput, assertOutput } from './schema.ts';
import { toolResource, type Tool, type ToolCallContext, type ToolInfo, type ToolResult } from './types.ts';
import { Vault } from './vault/vault.ts';

export interface ToolsLayerOptions {
  store: Store;
  /** The runtime's master key: it seals each tenant's vault data key. */
  masterKey: Buffer;
  clock?: Clock;
  logger?: Logger;
  /** @default 2_000 */
  syncIntervalMs?: number;
}

export interface ToolStats {
  calls: number;
  errors: number;
  totalMs: number;
  lastErrorCode?: string;
}

type SourceRow = { name: string; kind: string; config: string; updated_at: number };

interface StoredOpenApi {
  readonly config: OpenApiConnectorConfig;
  readonly document: OpenApiDocument;
}

interface TenantState {
  checkedAt: number;
  /** Source name → updated_at of the installed version. */
  installed: Map<string, number>;
  connectors: Map<string, Map<string, Tool>>;
  syncing?: Promise<void>;
}

/** Public view of a tool: everything but `invoke`. */
export function infoOf(tool: Tool): ToolInfo {
  const {
    name,
    description,
    source,
    inputSchema,
    outputSchema,
    provider,
    connection,
    idempotent,
    costMicros,
  } = tool;
  return JSON.parse(
    JSON.stringify({
      name,
      description,
      source,
      inputSchema,
      outputSchema,
      provider,
      connection,
      idempotent,
      costMicros,
    }),
  ) as ToolInfo;
}

/** Whether `principal` holds a grant for `tools.call` on this tool (constraints are checked at call time). */
export function mayCall(principal: Principal, toolName: string): boolean {
  const resource = toolResource(toolName);
  return principal.grants.some(
    (g) => matches(g.syscall, 'tools.call', '.') && matches(g.resource, resource, '/'),
  );
}

export class ToolsLayer {
  readonly vault: Vault;
  readonly gateway: McpGateway;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #syncIntervalMs: number;
  readonly #native = new Map<string, Tool>();
  readonly #tenants = new Map<string, TenantState>();
  readonly #limiter: RateLimiter;
  readonly #stats = new Map<string, ToolStats>();

  private constructor(options: ToolsLayerOptions & { vault: Vault }) {
    this.vault = options.vault;
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger()).child({ component: 'tools' });
    this.#syncIntervalMs = options.syncIntervalMs ?? 2_000;
    this.#limiter = new RateLimiter(this.#clock);
    this.gateway = new McpGateway({ logger: this.#logger, secrets: (t, c) => this.#serverSecrets(t, c) });
  }

  static async open(options: ToolsLayerOptions): Promise<ToolsLayer> {
    const vault = await Vault.open({
      store: options.store,
      masterKey: options.masterKey,
      clock: options.clock ?? systemClock,
    });
    return new ToolsLayer({ ...options, vault });
  }

  /** Adds a native tool, available to every tenant. */
  register(tool: Tool): void {
    if (this.#native.has(tool.name))
      throw new StrataError('E_CONFLICT', `tool ${tool.name} is already registered`);
    this.#native.set(tool.name, tool);
  }

  /** Every tool of the tenant (MCP servers still connecting are waited for, within their timeout). */
  async list(tenantId: string): Promise<Tool[]> {
    const state = await this.#sync(tenantId);
    await this.gateway.settled(tenantId);
    return [
      ...this.#native.values(),
      ...this.gateway.tools(tenantId),
      ...[...state.connectors.values()].flatMap((tools) => [...tools.values()]),
    ];
  }

  /** The tools `principal` may call, as public descriptions. */
  async listFor(principal: Principal): Promise<ToolInfo[]> {
    const tools = await this.list(principal.tenantId);
    return tools.filter((t) => mayCall(principal, t.name)).map(infoOf);
  }

  async find(tenantId: string, name: string): Promise<Tool> {
    const state = await this.#sync(tenantId);
    const tool =
      this.#native.get(name) ??
      (name.startsWith('mcp.') ? this.#findMcp(tenantId, name) : undefined) ??
      state.connectors.get(name.split('.')[0] ?? '')?.get(name);
    if (tool) return tool;
    if (name.startsWith('mcp.')) {
      // A server still connecting may not have listed its tools yet.
      await this.gateway.settled(tenantId);
      const late = this.#findMcp(tenantId, name);
      if (late) return late;
    }
    throw new StrataError('E_NOT_FOUND', `tool "${name.slice(0, 200)}" not found`, {
      tool: name.slice(0, 200),
    });
  }

  stats(tenantId: string, name: string): ToolStats {
    return { ...(this.#stats.get(`${tenantId}\u0000${name}`) ?? { calls: 0, errors: 0, totalMs: 0 }) };
  }

  /** Validates, rate-limits and invokes one tool; checks its output against its declared schema. */
  async call(
    name: string,
    args: Record<string, unknown>,
    ctx: ToolCallContext,
  ): Promise<{ tool: Tool; result: ToolResult }> {
    const tool = await this.find(ctx.tenantId, name);
    assertInput(tool.inputSchema, args, name);
    if (tool.rateLimit) this.#limiter.take(`${ctx.tenantId}/${name}`, tool.rateLimit);
    const key = `${ctx.tenantId}\u0000${name}`;
    const stats = this.#stats.get(key) ?? { calls: 0, errors: 0, totalMs: 0 };
    this.#stats.set(key, stats);
    const started = performance.now();
    stats.calls++;
    try {
      const result = await tool.invoke(args, ctx);
      if (typeof result !== 'object' || result === null || !Array.isArray(result.content)) {
        throw new StrataError('E_TOOL_ERROR', `tool ${name} returned a malformed result (no content array)`, {
          tool: name,
        });
      }
      if (tool.outputSchema && result.isError !== true) {
        if (result.structuredContent === undefined) {
          throw new StrataError(
            'E_TOOL_ERROR',
            `tool ${name} declares an output schema but returned no structured content`,
            {
              tool: name,
            },
          );
        }
        assertOutput(tool.outputSchema, result.structuredContent, name);
      }
      return { tool, result };
    } catch (error) {
      stats.errors++;
      stats.lastErrorCode = (error as { code?: string }).code ?? 'E_INTERNAL';
      throw error;
    } finally {
      stats.totalMs += performance.now() - started;
    }
  }

  /** Registers (or replaces) an MCP server for the tenant and reports its status after connecting. */
  async addMcp(tenantId: string, config: McpServerConfig): Promise<McpServerStatus> {
    checkMcpConfig(config);
    await this.#putSource(tenantId, config.name, 'mcp', config);
    await this.gateway.settled(tenantId);
    const status = this.gateway.connection(tenantId, config.name)?.status();
    if (!status) throw new StrataError('E_INTERNAL', `MCP server "${config.name}" did not start`);
    return status;
  }

  /** Loads and validates a document, stores the connector and returns its tools. */
  async addOpenApi(
    tenantId: string,
    input: { config: OpenApiConnectorConfig; document: string | object },
  ): Promise<ToolInfo[]> {
    const { bundled, dereferenced } = await loadOpenApi(input.document);
    const documentUrl =
      typeof input.document === 'string' && /^https?:\/\//.test(input.document) ? input.document : undefined;
    const config: OpenApiConnectorConfig = { ...input.config, ...(documentUrl ? { documentUrl } : {}) };
    // Build once now so a bad document or name fails before anything is stored.
    const tools = connectorTools(dereferenced, config, this.vault);
    await this.#putSource(tenantId, config.name, 'openapi', {
      config,
      document: bundled,
    } satisfies StoredOpenApi);
    return tools.map(infoOf);
  }

  async removeSource(tenantId: string, name: string, kind: 'mcp' | 'openapi'): Promise<void> {
    const { changes } = await this.#store.run(
      'DELETE FROM tools_sources WHERE tenant_id = ? AND name = ? AND kind = ?',
      [tenantId, name, kind],
    );
    if (changes === 0)
      throw new StrataError(
        'E_NOT_FOUND',
        `${kind === 'mcp' ? 'MCP server' : 'connector'} "${name}" not found`,
      );
    await this.#sync(tenantId, true);
  }

  async servers(tenantId: string): Promise<McpServerStatus[]> {
    await this.#sync(tenantId);
    return this.gateway.status(tenantId);
  }

  /** Stops every MCP server connection (and stdio process). */
  async close(): Promise<void> {
    await this.gateway.close();
    this.#tenants.clear();
  }

  #findMcp(tenantId: string, name: string): Tool | undefined {
    return this.gateway.find(tenantId, name);
  }

  async #putSource(tenantId: string, name: string, kind: 'mcp' | 'openapi', config: unknown): Promise<void> {
    const existing = await this.#store.get<{ kind: string }>(
      'SELECT kind FROM tools_sources WHERE tenant_id = ? AND name = ?',
      [tenantId, name],
    );
    if (existing && existing.kind !== kind) {
      throw new StrataError('E_CONFLICT', `"${name}" is already used by another ${existing.kind} source`, {
        name,
      });
    }
    const now = this.#clock.now();
    await this.#store.run(
      `INSERT INTO tools_sources (tenant_id, name, kind, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id, name) DO UPDATE SET config = excluded.config,
         updated_at = CASE WHEN excluded.updated_at > tools_sources.updated_at THEN excluded.updated_at ELSE tools_sources.updated_at + 1 END`,
      [tenantId, name, kind, JSON.stringify(config), now, now],
    );
    await this.#sync(tenantId, true);
  }

  /** Brings the tenant's installed sources in line with the store (at most every syncIntervalMs). */
  async #sync(tenantId: string, force = false): Promise<TenantState> {
    let state = this.#tenants.get(tenantId);
    if (!state) {
      state = { checkedAt: -Infinity, installed: new Map(), connectors: new Map() };
      this.#tenants.set(tenantId, state);
    }
    const now = this.#clock.now();
    if (!force && now - state.checkedAt < this.#syncIntervalMs) return state;
    while (state.syncing) await state.syncing;
    const run = this.#reconcile(tenantId, state);
    state.syncing = run;
    try {
      await run;
    } finally {
      state.syncing = undefined;
    }
    state.checkedAt = now;
    return state;
  }

  async #reconcile(tenantId: string, state: TenantState): Promise<void> {
    const rows = await this.#store.all<SourceRow>(
      'SELECT name, kind, config, updated_at FROM tools_sources WHERE tenant_id = ?',
      [tenantId],
    );
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.name);
      const version = Number(row.updated_at);
      if (state.installed.get(row.name) === version) continue;
      try {
        await this.#install(tenantId, state, row);
      } catch (error) {
        this.#logger.error(
          { source: row.name, code: (error as { code?: string }).code },
          'tool source failed to load',
        );
      }
      state.installed.set(row.name, version);
    }
    for (const name of [...state.installed.keys()]) {
      if (seen.has(name)) continue;
      state.installed.delete(name);
      state.connectors.delete(name);
      if (this.gateway.has(tenantId, name)) await this.gateway.remove(tenantId, name);
    }
  }

  async #install(tenantId: string, state: TenantState, row: SourceRow): Promise<void> {
    if (row.kind === 'mcp') {
      await this.gateway.add(tenantId, JSON.parse(row.config) as McpServerConfig);
      return;
    }
    const stored = JSON.parse(row.config) as StoredOpenApi;
    const { dereferenced } = await loadOpenApi(stored.document, `connector ${row.name}`);
    const tools = connectorTools(dereferenced, stored.config, this.vault);
    state.connectors.set(row.name, new Map(tools.map((t) => [t.name, t])));
  }

  async #serverSecrets(tenantId: string, config: McpServerConfig): Promise<ConnectSecrets> {
    const headers: Record<string, string> = {};
    const env: Record<string, string> = {};
    const values: string[] = [];
    if (config.connection) {
      const injection = await this.vault.inject(tenantId, config.connection, '');
      Object.assign(headers, injection.headers);
      values.push(...injection.secrets);
    }
    for (const [variable, connection] of Object.entries(config.secretEnv ?? {})) {
      const { value, secrets } = await this.vault.reveal(tenantId, connection, '');
      env[variable] = value;
      values.push(...secrets);
    }
    return { headers, env, values };
  }
}

function checkMcpConfig(config: McpServerConfig): void {
  if (config.transport === 'stdio' && !config.command) {
    throw new StrataError('E_INVALID_INPUT', 'a stdio MCP server needs a command', { name: config.name });
  }
  if (config.transport === 'http' && !/^https?:\/\//.test(config.url ?? '')) {
    throw new StrataError('E_INVALID_INPUT', 'an http MCP server needs an http(s) url', {
      name: config.name,
    });
  }
}
