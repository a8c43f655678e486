/**
 * @module tools/openapi/connector
 * One tool per operation of an OpenAPI 3 document, named `<connector>.<operationId>`.
 *
 * Input schema: an object whose properties are the operation's parameters (path, query, header; by
 * name) plus `body` for a JSON request body. Output: `structuredContent` is `{ status, body }`,
 * checked against the first 2xx JSON response schema, so an upstream answering with the wrong shape
 * is E_TOOL_ERROR rather than bad data handed to an agent. A non-2xx answer is a tool result with
 * `isError: true` (the agent can read the upstream's message), not an exception.
 *
 * Auth: the connector names a vault connection; its credential is added to the outgoing request
 * only. On a 401 with an OAuth2 connection, the vault refreshes the token and the request is sent
 * once more. Every secret value is scrubbed from what the upstream returns, and errors never quote
 * the request URL (an API key may travel in its query string).
 */
import { StrataError } from '../../kernel/index.ts';
import type { Injection } from '../vault/vault.ts';
import { assertOutput } from '../schema.ts';
import {
  SEGMENT,
  toSegment,
  type JsonSchema,
  type RateLimit,
  type Tool,
  type ToolCallContext,
  type ToolResult,
} from '../types.ts';
import { METHODS, type OpenApiDocument, type Operation, type Parameter } from './document.ts';

export interface OpenApiConnectorConfig {
  /** One tool-name segment (not `mcp`). */
  readonly name: string;
  /** Overrides the document's first `servers` URL. */
  readonly baseUrl?: string;
  /** Where a relative server URL is resolved from (the document's URL). */
  readonly documentUrl?: string;
  readonly connection?: string;
  /** @default 30_000 */
  readonly timeoutMs?: number;
  readonly rateLimit?: RateLimit;
  /** Micro-units charged per call. @default 0 */
  readonly costMicros?: number;
}

/** How a connector reaches the vault: credentials for a call, and a refresh after a 401. */
export interface CredentialSource {
  inject(tenantId: string, connection: string, principalId: string): Promise<Injection>;
  refreshAfterRejection(tenantId: string, connection: string, principalId: string): Promise<Injection | null>;
}

const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;
const NONE: Injection = { headers: {}, query: {}, secrets: [] };

/** OpenAPI 3.0's `nullable: true` as JSON Schema's `type: [T, "null"]`, recursively. */
export function toJsonSchema(schema: unknown): JsonSchema {
  if (Array.isArray(schema)) return schema.map(toJsonSchema) as unknown as JsonSchema;
  if (typeof schema !== 'object' || schema === null) return schema as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'nullable' || key === 'example' || key === 'xml') continue;
    out[key] = typeof value === 'object' && value !== null ? toJsonSchema(value) : value;
  }
  const source = schema as Record<string, unknown>;
  if (source['nullable'] === true && typeof source['type'] === 'string')
    out['type'] = [source['type'], 'null'];
  return out;
}

function baseUrlOf(doc: OpenApiDocument, config: OpenApiConnectorConfig): string {
  const server = doc.servers?.[0];
  let url = config.baseUrl ?? server?.url;
  if (url === undefined) {
    throw new StrataError(
      'E_INVALID_INPUT',
      `the OpenAPI document of "${config.name}" has no servers; pass baseUrl`,
    );
  }
  for (const [name, variable] of Object.entries(server?.variables ?? {}))
    url = url.replaceAll(`{${name}}`, variable.default);
  try {
    return new URL(url, config.documentUrl).href.replace(/\/$/, '');
  } catch {
    throw new StrataError(
      'E_INVALID_INPUT',
      `server URL "${url}" of "${config.name}" is not absolute; pass baseUrl`,
    );
  }
}

function mergedParameters(pathLevel: Parameter[] | undefined, op: Operation): Parameter[] {
  const byKey = new Map<string, Parameter>();
  for (const p of [...(pathLevel ?? []), ...(op.parameters ?? [])]) byKey.set(`${p.in}:${p.name}`, p);
  return [...byKey.values()].filter((p) => p.in !== 'cookie');
}

function jsonContent(
  content: Record<string, { schema?: unknown }> | undefined,
): { schema?: unknown } | undefined {
  if (!content) return undefined;
  const key = Object.keys(content).find((k) => k === 'application/json' || /\+json$|\/json\b/.test(k));
  return key === undefined ? undefined : content[key];
}

function successSchema(op: Operation): JsonSchema {
  const responses = op.responses ?? {};
  const code = Object.keys(responses).find((c) => /^2(\d\d|XX)$/i.test(c));
  const schema = code === undefined ? undefined : jsonContent(responses[code]?.content)?.schema;
  return schema === undefined ? {} : toJsonSchema(schema);
}

interface Prepared {
  readonly method: string;
  readonly path: string;
  readonly params: Parameter[];
  readonly hasBody: boolean;
}

/** Builds the connector's tools. Throws E_INVALID_INPUT if a name is unusable or repeated. */
export function connectorTools(
  doc: OpenApiDocument,
  config: OpenApiConnectorConfig,
  credentials: CredentialSource,
): Tool[] {
  if (!SEGMENT.test(config.name) || config.name === 'mcp') {
    throw new StrataError('E_INVALID_INPUT', 'a connector name is 1-64 letters, digits, _ or - (not "mcp")', {
      name: config.name,
    });
  }
  const base = baseUrlOf(doc, config);
  const tools: Tool[] = [];
  const seen = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (!op) continue;
      const name = `${config.name}.${toSegment(op.operationId ?? `${method}_${path}`)}`;
      if (seen.has(name)) {
        throw new StrataError(
          'E_INVALID_INPUT',
          `operation ${method.toUpperCase()} ${path} repeats tool name ${name}`,
          {
            path: `#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}`,
          },
        );
      }
      seen.add(name);
      const params = mergedParameters(item.parameters, op);
      const properties: Record<string, unknown> = {};
      const required: string[] = [];
      for (const p of params) {
        properties[p.name] = {
          ...toJsonSchema(p.schema ?? {}),
          ...(p.description ? { description: p.description } : {}),
        };
        if (p.required || p.in === 'path') required.push(p.name);
      }
      const body = jsonContent(op.requestBody?.content);
      if (body?.schema !== undefined) {
        properties['body'] = toJsonSchema(body.schema);
        if (op.requestBody?.required) required.push('body');
      }
      const prepared: Prepared = { method: method.toUpperCase(), path, params, hasBody: body !== undefined };
      const outputSchema: JsonSchema = {
        type: 'object',
        properties: { status: { type: 'integer' }, body: successSchema(op) },
        required: ['status'],
      };
      tools.push({
        name,
        description: (op.summary ?? op.description ?? `${prepared.method} ${path}`).slice(0, 1000),
        source: 'openapi',
        provider: config.name,
        inputSchema: { type: 'object', properties, required, additionalProperties: false },
        outputSchema,
        ...(config.connection ? { connection: config.connection } : {}),
        idempotent: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'].includes(prepared.method),
        ...(config.rateLimit ? { rateLimit: config.rateLimit } : {}),
        ...(config.costMicros ? { costMicros: config.costMicros } : {}),
        invoke: (args, ctx) => call({ base, config, prepared, credentials, outputSchema, name }, args, ctx),
      });
    }
  }
  return tools;
}

interface CallPlan {
  readonly base: string;
  readonly config: OpenApiConnectorConfig;
  readonly prepared: Prepared;
  readonly credentials: CredentialSource;
  readonly outputSchema: JsonSchema;
  readonly name: string;
}

function requestOf(
  plan: CallPlan,
  args: Record<string, unknown>,
  auth: Injection,
): { url: URL; init: RequestInit } {
  const { prepared } = plan;
  let path = prepared.path;
  const url = new URL(plan.base);
  const headers: Record<string, string> = { accept: 'application/json' };
  for (const p of prepared.params) {
    const value = args[p.name];
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (p.in === 'path') path = path.replaceAll(`{${p.name}}`, encodeURIComponent(text));
    else if (p.in === 'header') headers[p.name] = text;
    else if (Array.isArray(value)) for (const v of value) url.searchParams.append(p.name, String(v));
    else url.searchParams.set(p.name, text);
  }
  url.pathname = `${url.pathname.replace(/\/$/, '')}${path}`;
  for (const [k, v] of Object.entries(auth.query)) url.searchParams.set(k, v);
  Object.assign(headers, auth.headers);
  let body: string | undefined;
  if (prepared.hasBody && args['body'] !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(args['body']);
  }
  return { url, init: { method: prepared.method, headers, body } };
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('[REDACTED]');
  return out;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

async function send(
  plan: CallPlan,
  args: Record<string, unknown>,
  auth: Injection,
  signal: AbortSignal,
): Promise<Response> {
  const { url, init } = requestOf(plan, args, auth);
  const timeout = AbortSignal.timeout(plan.config.timeoutMs ?? 30_000);
  // Never the URL in errors: an API key may be in its query string.
  const what = `${plan.prepared.method} ${plan.prepared.path} of connector "${plan.config.name}"`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.any([signal, timeout]) });
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      if (timedOut) {
        throw new StrataError('E_SYSCALL_TIMEOUT', `${what} did not answer in time`, {
          timeoutMs: plan.config.timeoutMs ?? 30_000,
        });
      }
      // A pooled keep-alive connection the server closed just as it was reused fails at once;
      // an idempotent request is sent once more, on a fresh connection.
      if (attempt === 1 && IDEMPOTENT_METHODS.has(plan.prepared.method)) continue;
      throw new StrataError('E_UNAVAILABLE', `${what} could not be reached`);
    }
  }
}

async function call(
  plan: CallPlan,
  args: Record<string, unknown>,
  ctx: ToolCallContext,
): Promise<ToolResult> {
  const { connection } = plan.config;
  let auth = connection ? await plan.credentials.inject(ctx.tenantId, connection, ctx.principalId) : NONE;
  let res = await send(plan, args, auth, ctx.signal);
  if (res.status === 401 && connection) {
    const fresh = await plan.credentials.refreshAfterRejection(ctx.tenantId, connection, ctx.principalId);
    if (fresh) {
      await res.body?.cancel();
      auth = fresh;
      res = await send(plan, args, auth, ctx.signal);
    }
  }
  const raw = await res.text();
  const text = scrub(raw.length > MAX_RESPONSE_BYTES ? raw.slice(0, MAX_RESPONSE_BYTES) : raw, auth.secrets);
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      throw new StrataError('E_TOOL_ERROR', `tool ${plan.name} returned invalid JSON (HTTP ${res.status})`);
    }
  }
  const structured = { status: res.status, body };
  if (!res.ok) {
    return {
      isError: true,
      content: [{ type: 'text', text: `HTTP ${res.status}: ${text.slice(0, 2000)}` }],
      structuredContent: structured,
    };
  }
  assertOutput(plan.outputSchema, structured, plan.name);
  return { content: [{ type: 'text', text }], structuredContent: structured };
}
