/**
 * @module tools/syscalls
 * The tools layer's syscalls. Every tool call is `tools.call`, so it is capability-checked per tool
 * (resource `tools/<name with / for .>`), metered, audited and traced by the kernel pipeline.
 *
 * | syscall | resource |
 * |---|---|
 * | `tools.list`, `tools.describe` | `tools`, `tools/<tool>` (listing shows only tools the caller may call) |
 * | `tools.call` | `tools/<tool>` e.g. `tools/mcp/github/create_issue` |
 * | `tools.servers`, `tools.mcp.add`, `tools.mcp.remove` | `tools/mcp`, `tools/mcp/<server>` |
 * | `tools.openapi.add`, `tools.openapi.remove` | `tools/<connector>` |
 * | `tools.vault.put`, `tools.vault.connect`, `tools.vault.list`, `tools.vault.remove` | `tools/vault/<name>`, `tools/vault` |
 *
 * Vault inputs mark their secret fields with `secret()`: the pipeline keeps them out of the audit
 * log, the logs, trace attributes and errors. No syscall ever returns a secret.
 */
import { z } from 'zod';
import { defineSyscall, erase, secret, type SyscallDefinition } from '../kernel/index.ts';
import { infoOf, mayCall, type ToolsLayer } from './layer.ts';
import { toolResource } from './types.ts';

const name = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or -, at most 64');
const toolName = z.string().min(3).max(300);
const rateLimit = z
  .object({ perSecond: z.number().positive().max(1e6), burst: z.number().int().positive().optional() })
  .strict();
const jsonSchema = z.record(z.string(), z.unknown());

const toolInfo = z.object({
  name: z.string(),
  description: z.string(),
  source: z.enum(['native', 'mcp', 'openapi']),
  inputSchema: jsonSchema,
  outputSchema: jsonSchema.optional(),
  provider: z.string().optional(),
  connection: z.string().optional(),
  idempotent: z.boolean().optional(),
  costMicros: z.number().optional(),
});

const toolResult = z.object({
  content: z.array(z.looseObject({ type: z.string() })),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
  /** What the call cost, in micro-units (recorded by metering). */
  costMicros: z.number().nonnegative(),
});

const serverStatus = z.object({
  name: z.string(),
  transport: z.enum(['stdio', 'http']),
  health: z.enum(['connecting', 'ready', 'unhealthy', 'stopped']),
  lastError: z.string().optional(),
  restarts: z.number(),
  pid: z.number().optional(),
  tools: z.number(),
  resources: z.number(),
  prompts: z.number(),
});

const mcpConfig = z
  .object({
    name,
    transport: z.enum(['stdio', 'http']),
    command: z.string().min(1).max(4096).optional(),
    args: z.array(z.string().max(4096)).max(100).optional(),
    cwd: z.string().max(4096).optional(),
    env: z.record(z.string(), z.string().max(4096)).optional(),
    secretEnv: z.record(z.string(), name).optional(),
    url: z.url().optional(),
    connection: name.optional(),
    timeoutMs: z.number().int().min(10).max(600_000).optional(),
    connectTimeoutMs: z.number().int().min(10).max(120_000).optional(),
    retries: z.number().int().min(0).max(5).optional(),
    rateLimit: rateLimit.optional(),
    restart: z
      .object({
        baseDelayMs: z.number().int().min(10).optional(),
        maxDelayMs: z.number().int().min(10).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const connectionInfo = z.object({
  id: z.string(),
  name: z.string(),
  owner: z.string(),
  kind: z.enum(['api_key', 'bearer', 'oauth2']),
  meta: z.record(z.string(), z.unknown()),
  createdAt: z.number(),
  updatedAt: z.number(),
});

/** `self` stands for the caller: a connected account of the calling agent or key. */
const owner = z.string().max(200).optional();
const ownerOf = (value: string | undefined, principalId: string): string =>
  value === 'self' ? principalId : (value ?? '');

export function toolsSyscalls(layer: ToolsLayer): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'tools.list',
        description:
          'Lists the tools the caller may call (native, MCP servers, OpenAPI connectors), with their JSON Schemas.',
        input: z
          .object({
            source: z.enum(['native', 'mcp', 'openapi']).optional(),
            provider: z.string().max(64).optional(),
          })
          .strict(),
        output: z.object({ tools: z.array(toolInfo) }),
        idempotency: 'pure',
        resource: () => 'tools',
        handler: async (input, ctx) => {
          const tools = (await layer.listFor(ctx.principal)).filter(
            (t) =>
              (input.source === undefined || t.source === input.source) &&
              (input.provider === undefined || t.provider === input.provider),
          );
          return { tools };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.describe',
        description: 'Describes one tool: schemas, source, auth, and its call statistics in this process.',
        input: z.object({ tool: toolName }).strict(),
        output: toolInfo.extend({
          stats: z.object({
            calls: z.number(),
            errors: z.number(),
            totalMs: z.number(),
            lastErrorCode: z.string().optional(),
          }),
        }),
        idempotency: 'pure',
        resource: (input) => toolResource(input.tool),
        handler: async (input, ctx) => {
          const tool = await layer.find(ctx.tenantId, input.tool);
          return { ...infoOf(tool), stats: layer.stats(ctx.tenantId, tool.name) };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.call',
        description:
          'Calls a tool with JSON arguments (validated against its input schema before any network call); returns MCP-style content.',
        input: z
          .object({ tool: toolName, arguments: z.record(z.string(), z.unknown()).default({}) })
          .strict(),
        output: toolResult,
        // A tool's effect is unknown to the pipeline: it never repeats a call on its own. The
        // gateway retries tools their server marks idempotent.
        idempotency: 'unsafe',
        resource: (input) => toolResource(input.tool),
        // A priced tool's price is reserved against the caller's budgets before it runs (as a
        // model call's estimate is), so concurrent calls cannot overspend; an unknown tool costs
        // nothing here and fails E_NOT_FOUND in the handler.
        estimateCost: async (input, { tenantId }) =>
          (await layer.find(tenantId, input.tool).catch(() => undefined))?.costMicros ?? 0,
        actualCost: (_input, output) => output.costMicros,
        usageLabels: (input) => ({ tool: input.tool }),
        timeoutMs: 660_000,
        handler: async (input, ctx) => {
          const { tool, result } = await layer.call(input.tool, input.arguments, {
            tenantId: ctx.tenantId,
            principalId: ctx.principal.id,
            signal: ctx.signal,
          });
          return { ...result, costMicros: tool.costMicros ?? 0 };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.servers',
        description:
          'Health of the tenant’s MCP servers: state, last error, restarts, process id, tool counts.',
        input: z.object({}).strict(),
        output: z.object({ servers: z.array(serverStatus) }),
        idempotency: 'pure',
        resource: () => 'tools/mcp',
        handler: async (_input, ctx) => ({ servers: await layer.servers(ctx.tenantId) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.mcp.add',
        description:
          'Registers (or replaces) an MCP server: stdio (spawned and supervised) or Streamable HTTP. Its tools become mcp.<name>.<tool>.',
        input: mcpConfig,
        output: serverStatus,
        idempotency: 'idempotent',
        retry: { attempts: 1 },
        resource: (input) => `tools/mcp/${input.name}`,
        timeoutMs: 130_000,
        handler: (input, ctx) => layer.addMcp(ctx.tenantId, input),
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.mcp.remove',
        description: 'Removes an MCP server and stops its process.',
        input: z.object({ name }).strict(),
        output: z.object({ removed: z.literal(true) }),
        idempotency: 'idempotent',
        resource: (input) => `tools/mcp/${input.name}`,
        handler: async (input, ctx) => {
          await layer.removeSource(ctx.tenantId, input.name, 'mcp');
          return { removed: true as const };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.openapi.add',
        description:
          'Adds an OpenAPI 3.x connector from a document (object) or an http(s) URL: one tool per operation, named <name>.<operationId>.',
        input: z
          .object({
            name,
            document: z.union([z.url({ protocol: /^https?$/ }), z.record(z.string(), z.unknown())]),
            baseUrl: z.url().optional(),
            connection: name.optional(),
            timeoutMs: z.number().int().min(10).max(600_000).optional(),
            rateLimit: rateLimit.optional(),
            costMicros: z.number().int().nonnegative().optional(),
          })
          .strict(),
        output: z.object({ name: z.string(), tools: z.array(toolInfo) }),
        idempotency: 'idempotent',
        retry: { attempts: 1 },
        resource: (input) => `tools/${input.name}`,
        handler: async (input, ctx) => {
          const { document, ...config } = input;
          const tools = await layer.addOpenApi(ctx.tenantId, { config, document });
          return { name: input.name, tools: tools.filter((t) => mayCall(ctx.principal, t.name)) };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.openapi.remove',
        description: 'Removes an OpenAPI connector and its tools.',
        input: z.object({ name }).strict(),
        output: z.object({ removed: z.literal(true) }),
        idempotency: 'idempotent',
        resource: (input) => `tools/${input.name}`,
        handler: async (input, ctx) => {
          await layer.removeSource(ctx.tenantId, input.name, 'openapi');
          return { removed: true as const };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.vault.put',
        description:
          'Stores (or rotates) an API key or bearer token, encrypted at rest. owner "self" makes it the caller’s connected account.',
        input: z
          .object({
            name,
            owner,
            kind: z.enum(['api_key', 'bearer']),
            secret: secret(z.string().min(1).max(10_000)),
            in: z.enum(['header', 'query']).optional(),
            paramName: z.string().min(1).max(200).optional(),
          })
          .strict(),
        output: connectionInfo,
        idempotency: 'idempotent',
        resource: (input) => `tools/vault/${input.name}`,
        handler: (input, ctx) =>
          layer.vault.put(ctx.tenantId, {
            name: input.name,
            owner: ownerOf(input.owner, ctx.principal.id),
            kind: input.kind,
            secrets: input.kind === 'api_key' ? { value: input.secret } : { token: input.secret },
            meta:
              input.kind === 'api_key'
                ? { in: input.in ?? 'header', ...(input.paramName ? { paramName: input.paramName } : {}) }
                : {},
          }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.vault.connect',
        description:
          'Connects an OAuth2 client (client credentials, or a refresh token): fetches the first access token now, refreshes before expiry.',
        input: z
          .object({
            name,
            owner,
            tokenUrl: z.url({ protocol: /^https?$/ }),
            clientId: z.string().min(1).max(500),
            clientSecret: secret(z.string().min(1).max(10_000)).optional(),
            refreshToken: secret(z.string().min(1).max(10_000)).optional(),
            scope: z.string().max(2000).optional(),
          })
          .strict(),
        output: connectionInfo,
        idempotency: 'idempotent',
        retry: { attempts: 1 },
        resource: (input) => `tools/vault/${input.name}`,
        handler: (input, ctx) =>
          layer.vault.connect(ctx.tenantId, {
            name: input.name,
            owner: ownerOf(input.owner, ctx.principal.id),
            secrets: {
              ...(input.clientSecret ? { clientSecret: input.clientSecret } : {}),
              ...(input.refreshToken ? { refreshToken: input.refreshToken } : {}),
            },
            meta: {
              tokenUrl: input.tokenUrl,
              clientId: input.clientId,
              ...(input.scope ? { scope: input.scope } : {}),
            },
          }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.vault.list',
        description: 'Lists vault connections: names, kinds, owners and expiry, never secrets.',
        input: z.object({}).strict(),
        output: z.object({ connections: z.array(connectionInfo) }),
        idempotency: 'pure',
        resource: () => 'tools/vault',
        handler: async (_input, ctx) => ({ connections: await layer.vault.list(ctx.tenantId) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'tools.vault.remove',
        description: 'Deletes a vault connection.',
        input: z.object({ name, owner }).strict(),
        output: z.object({ removed: z.literal(true) }),
        idempotency: 'idempotent',
        resource: (input) => `tools/vault/${input.name}`,
        handler: async (input, ctx) => {
          await layer.vault.remove(ctx.tenantId, input.name, ownerOf(input.owner, ctx.principal.id));
          return { removed: true as const };
        },
      }),
    ),
  ];
}
