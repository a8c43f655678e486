/**
 * @module tools/mcp/strata-server
 * Strata as an MCP server, for one authenticated caller: every syscall the caller holds a grant for
 * becomes an MCP tool of the same name (`kernel.echo`, `runs.start`, …), and so does every tool of
 * the tools layer the caller may call (`mcp.github.create_issue`, `petstore.get_pet`, …). Calls go
 * through `kernel.call` — syscalls directly, tools as `tools.call` — so the MCP surface adds no
 * path around authorization, audit or metering. A syscall and a tool with the same name: the
 * syscall wins (the tool stays reachable through `tools.call`).
 *
 * The transport is the surface's business: `strata mcp` connects it to stdio, the HTTP server to
 * Streamable HTTP at `/mcp`.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type Tool as McpTool,
} from '@modelcontextprotocol/sdk/types.js';
import { coerceError, matches, type Kernel, type Principal } from '../../kernel/index.ts';
import type { ToolsLayer } from '../layer.ts';

/** What Strata's MCP server announces in `initialize`; its server card states the same. */
export const STRATA_MCP_SERVER_INFO = { name: 'strata', version: '0.1.0' } as const;
/** No `listChanged`: the endpoint is stateless, so it never pushes notifications. */
export const STRATA_MCP_CAPABILITIES = { tools: {} } as const;
export const STRATA_MCP_INSTRUCTIONS = 'Strata syscalls and tools granted to this caller.';

const layers = new WeakMap<Kernel, ToolsLayer>();
const syscallTools = new WeakMap<Kernel, Map<string, McpTool>>();

/** Makes the tools layer reachable from surfaces that hold only the kernel (the MCP endpoints). */
export function attachTools(kernel: Kernel, layer: ToolsLayer): void {
  layers.set(kernel, layer);
}

export function toolsOf(kernel: Kernel): ToolsLayer | undefined {
  return layers.get(kernel);
}

function describeSyscall(kernel: Kernel, name: string): McpTool | undefined {
  let cache = syscallTools.get(kernel);
  if (!cache) syscallTools.set(kernel, (cache = new Map<string, McpTool>()));
  const cached = cache.get(name);
  if (cached) return cached;
  const d = kernel.registry.describe(name);
  const { $schema: _ignored, ...inputSchema } = d.inputSchema as Record<string, unknown>;
  if (inputSchema['type'] !== 'object') return undefined;
  const tool: McpTool = {
    name,
    description: d.description,
    inputSchema: inputSchema as McpTool['inputSchema'],
    annotations: { readOnlyHint: d.idempotency === 'pure', idempotentHint: d.idempotency !== 'unsafe' },
  };
  cache.set(name, tool);
  return tool;
}

function grantedSyscalls(kernel: Kernel, principal: Principal): string[] {
  return kernel.registry.names().filter((n) => principal.grants.some((g) => matches(g.syscall, n, '.')));
}

/** The MCP tools this caller sees: granted syscalls, then granted tools not shadowed by a syscall. */
export async function mcpToolsFor(kernel: Kernel, principal: Principal): Promise<McpTool[]> {
  const out: McpTool[] = [];
  for (const name of grantedSyscalls(kernel, principal)) {
    const tool = describeSyscall(kernel, name);
    if (tool) out.push(tool);
  }
  const layer = toolsOf(kernel);
  if (layer && principal.grants.some((g) => matches(g.syscall, 'tools.call', '.'))) {
    for (const info of await layer.listFor(principal)) {
      if (kernel.registry.has(info.name)) continue;
      out.push({
        name: info.name,
        description: info.description,
        inputSchema: { type: 'object', ...info.inputSchema },
        ...(info.outputSchema?.['type'] === 'object'
          ? { outputSchema: info.outputSchema as McpTool['outputSchema'] }
          : {}),
        annotations: { idempotentHint: info.idempotent === true },
      });
    }
  }
  return out;
}

function errorResult(error: unknown): CallToolResult {
  const failure = coerceError(error);
  // An unexpected failure says only that it happened: its message may hold internals.
  const shown =
    failure.code === 'E_INTERNAL' ? { code: failure.code, message: 'internal error' } : failure.toJSON();
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: shown }) }] };
}

/** Runs one MCP tool call as `principal`. */
export async function callForMcp(
  kernel: Kernel,
  principal: Principal,
  request: { name: string; args: Record<string, unknown>; signal?: AbortSignal },
): Promise<CallToolResult> {
  const { name, args, signal } = request;
  try {
    if (kernel.registry.has(name)) {
      const output = await kernel.call(name, args, { principal, signal });
      const structured = typeof output === 'object' && output !== null && !Array.isArray(output);
      return {
        content: [{ type: 'text', text: JSON.stringify(output ?? null) }],
        ...(structured ? { structuredContent: output as Record<string, unknown> } : {}),
      };
    }
    if (!toolsOf(kernel)) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${name.slice(0, 200)}`);
    const { costMicros: _cost, ...result } = await kernel.call<CallToolResult & { costMicros: number }>(
      'tools.call',
      { tool: name, arguments: args },
      { principal, signal },
    );
    return result;
  } catch (error) {
    if (error instanceof McpError) throw error;
    return errorResult(error);
  }
}

/** An MCP server (low-level SDK `Server`) acting for `principal`; connect it to any transport. */
export async function createStrataMcpServer(options: {
  kernel: Kernel;
  principal: Principal;
  version?: string;
}): Promise<Server> {
  const { kernel, principal } = options;
  // The SDK server (~200 modules with ajv) is loaded by the first MCP session, not with the tools
  // layer that every CLI command and worker process opens.
  const { Server } = await import('@modelcontextprotocol/sdk/server/index.js');
  const server = new Server(
    { ...STRATA_MCP_SERVER_INFO, ...(options.version === undefined ? {} : { version: options.version }) },
    { capabilities: { ...STRATA_MCP_CAPABILITIES }, instructions: STRATA_MCP_INSTRUCTIONS },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: await mcpToolsFor(kernel, principal),
  }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    callForMcp(kernel, principal, {
      name: request.params.name,
      args: request.params.arguments ?? {},
      signal: extra.signal,
    }),
  );
  return server;
}
