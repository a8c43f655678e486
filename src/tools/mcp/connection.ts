/**
 * @module tools/mcp/connection
 * One supervised connection to one MCP server, with the official SDK's `Client`.
 *
 * Lifecycle: `connecting` → `ready`; any failure (the initialize handshake times out, the stdio
 * process exits, the HTTP endpoint stops answering, a call times out) → `unhealthy` with the
 * reason. A lost connection is re-established with exponential backoff (stdio: the process is
 * spawned again); the backoff resets once a connection has stayed up for `stableMs`. A call timeout
 * marks the server unhealthy but keeps the connection; the next successful call marks it ready.
 * Each connection is independent: one server hanging never delays calls to another.
 *
 * Discovery: tools, resources and prompts are listed on connect (all pages) and cached; the SDK's
 * `listChanged` handlers refresh the cache when the server announces a change.
 *
 * Chaos: a call chosen for the `mcp_killed` fault SIGKILLs the stdio server once the request is on
 * its way, so the call fails as a crash mid-call does and the supervisor restarts the process.
 */
import type { Readable } from 'node:stream';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  McpError,
  type Prompt,
  type Resource,
  type Tool as McpTool,
} from '@modelcontextprotocol/sdk/types.js';
import { StrataError, takeChaosFault, type Logger } from '../../kernel/index.ts';
import type { RateLimit, ToolResult } from '../types.ts';

interface ClientSdk {
  readonly Client: typeof Client;
  readonly StdioClientTransport: typeof StdioClientTransport;
  readonly StreamableHTTPClientTransport: typeof StreamableHTTPClientTransport;
}

/**
 * The SDK's client and transports (~200 modules with ajv), loaded by the first connection rather
 * than with the tools layer, which every CLI command and worker process opens.
 */
async function loadClientSdk(): Promise<ClientSdk> {
  const [{ Client }, { StdioClientTransport }, { StreamableHTTPClientTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
  ]);
  return { Client, StdioClientTransport, StreamableHTTPClientTransport };
}

export type McpTransportKind = 'stdio' | 'http';

export interface McpServerConfig {
  /** One tool-name segment: tools are named `mcp.<name>.<tool>`. */
  readonly name: string;
  readonly transport: McpTransportKind;
  /** stdio: the program to spawn and its arguments. */
  readonly command?: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  /** stdio: extra environment (added to a minimal safe default, not the host's whole env). */
  readonly env?: Readonly<Record<string, string>>;
  /** stdio: environment variables whose values come from vault connections (name → connection). */
  readonly secretEnv?: Readonly<Record<string, string>>;
  /** http: the Streamable HTTP endpoint. */
  readonly url?: string;
  /** http: a vault connection whose credential is sent with every request. */
  readonly connection?: string;
  /** Per-call timeout. @default 30_000 */
  readonly timeoutMs?: number;
  /** Timeout of the initialize handshake and discovery. @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** Extra attempts for idempotent tools after a timeout or a lost connection. @default 1 */
  readonly retries?: number;
  readonly rateLimit?: RateLimit;
  /** Restart backoff. @default { baseDelayMs: 200, maxDelayMs: 30_000 } */
  readonly restart?: { readonly baseDelayMs?: number; readonly maxDelayMs?: number };
}

export type McpHealth = 'connecting' | 'ready' | 'unhealthy' | 'stopped';

export interface McpServerStatus {
  readonly name: string;
  readonly transport: McpTransportKind;
  readonly health: McpHealth;
  readonly lastError?: string;
  /** Times the connection was re-established after a loss. */
  readonly restarts: number;
  /** stdio: the server process id while it runs. */
  readonly pid?: number;
  readonly tools: number;
  readonly resources: number;
  readonly prompts: number;
}

/** Secrets a connection needs at (re)connect time, resolved from the vault. */
export interface ConnectSecrets {
  readonly headers: Record<string, string>;
  readonly env: Record<string, string>;
  readonly values: readonly string[];
}

export interface McpConnectionOptions {
  readonly config: McpServerConfig;
  readonly logger: Logger;
  readonly secrets: () => Promise<ConnectSecrets>;
}

const STABLE_MS = 5_000;

export class McpConnection {
  readonly config: McpServerConfig;
  readonly #logger: Logger;
  readonly #secrets: () => Promise<ConnectSecrets>;
  #client: Client | undefined;
  #transport: Transport | undefined;
  #health: McpHealth = 'connecting';
  #connected = false;
  #lastError: string | undefined;
  #restarts = 0;
  #failures = 0;
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #stableTimer: NodeJS.Timeout | undefined;
  #tools: McpTool[] = [];
  #resources: Resource[] = [];
  #prompts: Prompt[] = [];
  #version = 0;
  #settled: Promise<void>;
  #settle: () => void = () => undefined;
  #waiters: (() => void)[] = [];

  constructor(options: McpConnectionOptions) {
    this.config = options.config;
    this.#logger = options.logger.child({ mcpServer: options.config.name });
    this.#secrets = options.secrets;
    this.#settled = new Promise((resolve) => (this.#settle = resolve));
  }

  /** Starts connecting in the background; `settled()` resolves after the first attempt ends. */
  start(): void {
    void this.#connect();
  }

  /** Resolves once the first connection attempt has succeeded or failed. */
  settled(): Promise<void> {
    return this.#settled;
  }

  get tools(): readonly McpTool[] {
    return this.#tools;
  }

  get resources(): readonly Resource[] {
    return this.#resources;
  }

  get prompts(): readonly Prompt[] {
    return this.#prompts;
  }

  /** Bumped whenever the cached tool list changes. */
  get version(): number {
    return this.#version;
  }

  /** The stdio server's process id; null over HTTP or before a transport exists. */
  #pid(): number | null {
    if (this.config.transport === 'http' || this.#transport === undefined) return null;
    return (this.#transport as StdioClientTransport).pid;
  }

  status(): McpServerStatus {
    const pid = this.#pid();
    return {
      name: this.config.name,
      transport: this.config.transport,
      health: this.#health,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
      restarts: this.#restarts,
      ...(pid === null || !this.#connected ? {} : { pid }),
      tools: this.#tools.length,
      resources: this.#resources.length,
      prompts: this.#prompts.length,
    };
  }

  /** Calls a tool; maps timeouts and lost connections to retryable Strata errors. */
  async callTool(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolResult> {
    const timeoutMs = this.config.timeoutMs ?? 30_000;
    if (!this.#connected) await this.#waitConnected(Math.min(timeoutMs, this.#connectTimeout()), signal);
    const client = this.#client;
    if (!client || !this.#connected) {
      throw new StrataError(
        'E_UNAVAILABLE',
        `MCP server "${this.config.name}" is ${this.#health}${this.#lastError ? `: ${this.#lastError}` : ''}`,
        { server: this.config.name, health: this.#health },
      );
    }
    try {
      const pending = client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs, signal });
      const pid = this.#pid();
      if (pid !== null && takeChaosFault('tools', 'mcp_killed')) process.kill(pid, 'SIGKILL');
      const result = await pending;
      if (this.#health === 'unhealthy' && this.#connected) this.#markReady();
      return result as ToolResult;
    } catch (error) {
      throw this.#mapError(error, name, timeoutMs);
    }
  }

  /** Stops supervising and closes the connection (kills a stdio process). */
  async stop(): Promise<void> {
    this.#health = 'stopped';
    this.#generation++;
    clearTimeout(this.#timer);
    clearTimeout(this.#stableTimer);
    this.#connected = false;
    this.#wake();
    const transport = this.#transport;
    this.#client = undefined;
    this.#transport = undefined;
    await transport?.close().catch(() => undefined);
  }

  #connectTimeout(): number {
    return this.config.connectTimeoutMs ?? 10_000;
  }

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    const stale = (): boolean => generation !== this.#generation || this.#health === 'stopped';
    let transport: Transport | undefined;
    try {
      const secrets = await this.#secrets();
      const sdk = await loadClientSdk();
      transport = this.#transportFor(secrets, sdk);
      const client = new sdk.Client(
        { name: 'strata', version: '0.1.0' },
        {
          capabilities: {},
          listChanged: {
            tools: { onChanged: (error, tools) => !error && tools && !stale() && this.#setTools(tools) },
            resources: {
              onChanged: (error, items) => !error && items && !stale() && (this.#resources = items),
            },
            prompts: { onChanged: (error, items) => !error && items && !stale() && (this.#prompts = items) },
          },
        },
      );
      client.onclose = () => {
        if (!stale()) this.#lost('the connection closed');
      };
      this.#transport = transport;
      this.#client = client;
      const timeout = this.#connectTimeout();
      await client.connect(transport, { timeout });
      await this.#discover(client, timeout);
      if (stale()) return;
      this.#connected = true;
      this.#markReady();
      this.#stableTimer = setTimeout(() => (this.#failures = 0), STABLE_MS);
      this.#stableTimer.unref();
    } catch (error) {
      if (stale()) return;
      await transport?.close().catch(() => undefined);
      this.#lost(describe(error, this.#connectTimeout()));
    } finally {
      this.#settle();
    }
  }

  async #discover(client: Client, timeout: number): Promise<void> {
    const caps = client.getServerCapabilities() ?? {};
    const tools: McpTool[] = [];
    if (caps.tools) {
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor !== undefined && tools.length < 10_000);
    }
    this.#setTools(tools);
    this.#resources = caps.resources ? (await client.listResources({}, { timeout })).resources : [];
    this.#prompts = caps.prompts ? (await client.listPrompts({}, { timeout })).prompts : [];
  }

  #setTools(tools: McpTool[]): void {
    this.#tools = tools;
    this.#version++;
  }

  #markReady(): void {
    this.#health = 'ready';
    this.#lastError = undefined;
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #lost(reason: string): void {
    if (this.#health === 'stopped') return;
    this.#connected = false;
    this.#health = 'unhealthy';
    this.#lastError = reason;
    clearTimeout(this.#stableTimer);
    this.#logger.warn({ reason }, 'MCP server unavailable; reconnecting');
    const base = this.config.restart?.baseDelayMs ?? 200;
    const max = this.config.restart?.maxDelayMs ?? 30_000;
    const delay = Math.min(max, base * 2 ** this.#failures);
    this.#failures++;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#restarts++;
      const old = this.#transport;
      void (old ? old.close().catch(() => undefined) : Promise.resolve()).then(() => this.#connect());
    }, delay);
    this.#timer.unref();
  }

  async #waitConnected(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#health === 'stopped') return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#waiters.push(done);
    });
  }

  #transportFor(secrets: ConnectSecrets, sdk: ClientSdk): Transport {
    const { config } = this;
    if (config.transport === 'http') {
      return new sdk.StreamableHTTPClientTransport(new URL(config.url ?? ''), {
        requestInit: { headers: secrets.headers },
      });
    }
    const transport = new sdk.StdioClientTransport({
      command: config.command ?? '',
      args: [...(config.args ?? [])],
      cwd: config.cwd,
      env: { ...config.env, ...secrets.env },
      stderr: 'pipe',
    });
    this.#forwardStderr(transport.stderr as Readable | null, secrets.values);
    return transport;
  }

  /** The server's stderr goes to the debug log, line by line, with vault secrets scrubbed. */
  #forwardStderr(stream: Readable | null, secrets: readonly string[]): void {
    if (!stream) return;
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        let text = line.slice(0, 1000);
        for (const s of secrets) if (s.length >= 3) text = text.split(s).join('[REDACTED]');
        if (text !== '') this.#logger.debug({ stderr: text }, 'MCP server stderr');
      }
      if (buffered.length > 10_000) buffered = '';
    });
  }

  #mapError(error: unknown, tool: string, timeoutMs: number): StrataError {
    const where = `tool ${tool} on MCP server "${this.config.name}"`;
    if (error instanceof McpError && error.code === (ErrorCode.RequestTimeout as number)) {
      this.#health = 'unhealthy';
      this.#lastError = `a call timed out after ${timeoutMs} ms`;
      return new StrataError('E_SYSCALL_TIMEOUT', `${where} did not answer within ${timeoutMs} ms`, {
        timeoutMs,
        server: this.config.name,
      });
    }
    if (error instanceof McpError && error.code === (ErrorCode.ConnectionClosed as number)) {
      return new StrataError('E_UNAVAILABLE', `${where}: the connection closed during the call`, {
        server: this.config.name,
      });
    }
    if (error instanceof McpError) {
      return new StrataError('E_TOOL_ERROR', `${where} failed: ${error.message.slice(0, 500)}`, {
        server: this.config.name,
        mcpCode: error.code,
      });
    }
    // Transport failures (fetch failed, HTTP 401/5xx, process gone): the server is unreachable.
    // Over HTTP nothing else would notice, so reconnect: that also re-reads the vault connection,
    // whose OAuth token is refreshed when it is about to expire.
    const reason = describe(error, timeoutMs);
    if (this.config.transport === 'http' && this.#connected) this.#lost(reason);
    this.#health = 'unhealthy';
    this.#lastError = reason;
    return new StrataError('E_UNAVAILABLE', `${where} is unreachable: ${reason}`, {
      server: this.config.name,
    });
  }
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof McpError && error.code === (ErrorCode.RequestTimeout as number))
    return `no answer within ${timeoutMs} ms`;
  const message = error instanceof Error ? error.message : String(error);
  return message.slice(0, 300);
}
