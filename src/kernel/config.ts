/**
 * @module kernel/config
 * Strata's configuration, validated with zod. Sources, later wins: defaults → config file
 * (`strata.config.json` in the working directory, or `--config FILE`) → environment (`STRATA_*`) →
 * CLI flags. An invalid value fails with E_CONFIG naming the key and where it came from.
 *
 * The library itself never reads `process.env`: only the server and CLI call {@link loadConfig}.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { chaosSchema, modeSchema } from './chaos/config.ts';
import { StrataError } from './errors.ts';

export const configSchema = z
  .object({
    /**
     * `production` refuses fault injection unless `chaos.force` (env STRATA_MODE; NODE_ENV=production
     * implies it when STRATA_MODE and the file leave it unset).
     */
    mode: modeSchema,
    /** Where the embedded database, keys and state live. */
    dataDir: z.string().min(1).default('.strata'),
    /** `sqlite:<path>` or `postgres://…`; unset means `sqlite:<dataDir>/strata.db`. */
    databaseUrl: z.string().min(1).optional(),
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(7070),
        /** Largest accepted request body, in bytes. */
        bodyLimitBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
        /** How long graceful shutdown waits for in-flight calls. */
        drainTimeoutMs: z.number().int().nonnegative().default(10_000),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    orchestration: z
      .object({
        /** Runs the in-process worker of `strata up` executes at once. */
        concurrency: z.number().int().min(1).max(1000).default(10),
      })
      .strict()
      .prefault({}),
    browser: z
      .object({
        /** The Chromium binary playwright-core drives (Debian's package by default). */
        executablePath: z.string().min(1).default('/usr/bin/chromium'),
        /** Browser sessions without an action for this long are closed. */
        idleTimeoutMs: z.number().int().min(1_000).default(300_000),
        /** Live browser sessions at once on this server. */
        maxSessions: z.number().int().min(1).max(1_000).default(16),
        /** Browser contexts kept ready, so opening a session does not wait for one. */
        spareContexts: z.number().int().min(0).max(16).default(1),
      })
      .strict()
      .prefault({}),
    mail: z
      .object({
        /** This node's mail host name: EHLO, Authentication-Results, Message-IDs. */
        hostname: z.string().min(1).default('localhost'),
        /** Domains mailboxes may be created in; empty: any. */
        domains: z.array(z.string().min(1)).default([]),
        /** Port of the inbound SMTP server; unset: no SMTP server is started. */
        smtpPort: z.number().int().min(0).max(65535).optional(),
        smtpHost: z.string().min(1).default('127.0.0.1'),
        /** Outbound relay, `smtp://user:pass@host:port` (`smtps://` for implicit TLS); unset: sending fails with E_CONFIG. */
        relayUrl: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    a2a: z
      .object({
        /** Agent name → the workflow serving its A2A tasks (loaded with --workflows); else `a2a.echo`. */
        workflows: z.record(z.string().min(1), z.string().min(1)).default({}),
      })
      .strict()
      .prefault({}),
    network: z
      .object({
        /**
         * Let outbound requests made for agents (a2a.call, A2A push, the agent directory, webhooks)
         * reach loopback and private addresses. Off, they are refused (SSRF). For tests and a
         * single-machine setup only.
         */
        allowPrivate: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    provisioning: z
      .object({
        /**
         * A superuser URL of the PostgreSQL server that `postgres` resources are made on. Unset:
         * the server of `databaseUrl` when that is PostgreSQL, else the `postgres` kind is off.
         */
        postgresAdminUrl: z.string().min(1).optional(),
        /** Ready resources unused for this long are suspended (the next use resumes them). */
        idleTimeoutMs: z.number().int().min(1_000).default(300_000),
        /** How often idle, expired and half-made resources are looked for. */
        sweepIntervalMs: z.number().int().min(100).default(15_000),
      })
      .strict()
      .prefault({}),
    /**
     * Model providers, routes and the price book. The kernel knows no layer, so the models layer
     * validates this section itself when the runtime starts (its errors name `models.<key>`).
     */
    models: z.unknown().optional(),
    /** Fault injection (`strata chaos`): off by default; see kernel/chaos/config.ts. */
    chaos: chaosSchema.prefault({}),
    /** Base64 of 32 bytes that seals private keys and secrets at rest; generated into dataDir if unset. */
    masterKey: z.string().optional(),
  })
  .strict();

export type StrataConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Environment variables read by {@link loadConfig}, and the config key each sets. */
export const ENV_KEYS = {
  STRATA_DATA_DIR: 'dataDir',
  STRATA_DATABASE_URL: 'databaseUrl',
  STRATA_HOST: 'server.host',
  STRATA_PORT: 'server.port',
  STRATA_BODY_LIMIT_BYTES: 'server.bodyLimitBytes',
  STRATA_DRAIN_TIMEOUT_MS: 'server.drainTimeoutMs',
  STRATA_LOG_LEVEL: 'log.level',
  STRATA_MASTER_KEY: 'masterKey',
  STRATA_MODE: 'mode',
  STRATA_WORKER_CONCURRENCY: 'orchestration.concurrency',
  STRATA_CHROMIUM_PATH: 'browser.executablePath',
  STRATA_BROWSER_IDLE_TIMEOUT_MS: 'browser.idleTimeoutMs',
  STRATA_BROWSER_MAX_SESSIONS: 'browser.maxSessions',
  STRATA_POSTGRES_ADMIN_URL: 'provisioning.postgresAdminUrl',
  STRATA_MAIL_HOSTNAME: 'mail.hostname',
  STRATA_MAIL_SMTP_PORT: 'mail.smtpPort',
  STRATA_MAIL_RELAY_URL: 'mail.relayUrl',
} as const;

const NUMERIC_KEYS = new Set([
  'server.port',
  'server.bodyLimitBytes',
  'server.drainTimeoutMs',
  'orchestration.concurrency',
  'browser.idleTimeoutMs',
  'browser.maxSessions',
  'mail.smtpPort',
]);

export interface LoadConfigOptions {
  /** Path of a JSON config file; when unset, `./strata.config.json` is used if present. */
  file?: string;
  env?: Record<string, string | undefined>;
  /** Values from CLI flags, as dotted keys (`server.port`). */
  overrides?: Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    node[part] = typeof next === 'object' && next !== null ? next : {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1) as string] = value;
}

function readFileConfig(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new StrataError('E_CONFIG', `cannot read config file ${path}`, { file: path }, { cause });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (cause) {
    throw new StrataError('E_CONFIG', `config file ${path} is not a JSON object`, { file: path }, { cause });
  }
}

/** Builds the configuration from file, environment and overrides; throws E_CONFIG naming the bad key. */
export function loadConfig(options: LoadConfigOptions = {}): StrataConfig {
  const raw: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  const filePath = options.file ?? (existsSync('strata.config.json') ? 'strata.config.json' : undefined);
  if (filePath) Object.assign(raw, readFileConfig(resolve(filePath)));

  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = options.env?.[name];
    if (value === undefined || value === '') continue;
    const numeric = NUMERIC_KEYS.has(key) && /^-?\d+$/.test(value.trim());
    setPath(raw, key, numeric ? Number(value) : value);
    origin.set(key, `env ${name}`);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    setPath(raw, key, value);
    origin.set(key, 'command-line flag');
  }

  if (options.env?.['NODE_ENV'] === 'production' && raw['mode'] === undefined) {
    raw['mode'] = 'production';
    origin.set('mode', 'env NODE_ENV');
  }
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key =
    issue?.path.join('.') || (issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : '(root)');
  const from = origin.get(key) ?? (filePath ? `file ${filePath}` : 'defaults');
  throw new StrataError('E_CONFIG', `config: ${key}: ${issue?.message ?? 'invalid'} (from ${from})`, {
    key,
    from,
    issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}

/** The database URL the configuration implies. */
export function databaseUrlOf(config: StrataConfig): string {
  return config.databaseUrl ?? `sqlite:${resolve(config.dataDir, 'strata.db')}`;
}
