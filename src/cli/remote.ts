/**
 * @module cli/remote
 * Calls syscalls on a running Strata server over HTTP (`POST /v1/syscalls/<name>`), for commands
 * whose state lives in the server process — workflows are registered there, so `strata runs …`
 * cannot run them in process. The server's `{error:{code,message,data}}` comes back as the same
 * StrataError, so exit codes are exactly those of an in-process call.
 *
 * Where to: `--url`, env STRATA_URL, else this machine at the configured port. Credentials: `--key`
 * (an API key or a capability token: both are bearer credentials), env STRATA_API_KEY, else
 * `<dataDir>/admin.key` written by `strata up`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StrataConfig } from '../kernel/config.ts';
import { isStrataErrorCode, StrataError } from '../kernel/errors.ts';

export interface RemoteOptions {
  readonly url?: string;
  readonly key?: string;
}

export interface Remote {
  readonly url: string;
  call<T>(name: string, input: unknown): Promise<T>;
  /** An authenticated GET of a streaming route (`/v1/runs/:id/stream`); the caller reads the body. */
  get?(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response>;
}

/** Per request; a follow loop makes many short ones. */
const REQUEST_TIMEOUT_MS = 30_000;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

function defaultUrl(config: StrataConfig): string {
  // A server bound to every interface is reached on loopback; one bound to an address, there.
  const { host, port } = config.server;
  const target = WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${target}:${port}`;
}

function baseUrl(options: RemoteOptions, config: StrataConfig): string {
  const text = options.url ?? (process.env['STRATA_URL'] || defaultUrl(config));
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StrataError('E_BAD_REQUEST', `--url ${text.slice(0, 200)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new StrataError('E_BAD_REQUEST', `--url must be http:// or https://, not ${url.protocol}`);
  return url.href.replace(/\/+$/, '');
}

function keyOf(options: RemoteOptions, config: StrataConfig): string {
  const key = options.key ?? (process.env['STRATA_API_KEY'] || undefined);
  if (key !== undefined) return key;
  const file = join(resolve(config.dataDir), 'admin.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new StrataError(
    'E_UNAUTHENTICATED',
    `no API key: pass --key, set STRATA_API_KEY, or run \`strata up\` once to create ${file}`,
  );
}

/** The error a server answered with, or a generic one when the body is not Strata's. */
export function errorFrom(status: number, body: unknown, url: string): StrataError {
  const error = (body as { error?: { code?: unknown; message?: unknown; data?: unknown } } | null)?.error;
  if (error && isStrataErrorCode(error.code)) {
    const message = typeof error.message === 'string' ? error.message : error.code;
    return new StrataError(error.code, message, error.data);
  }
  const code = status === 502 || status === 503 || status === 504 ? 'E_UNAVAILABLE' : 'E_INTERNAL';
  return new StrataError(code, `unexpected HTTP ${status} from ${url}; is it a Strata server?`);
}

/** A failed fetch as E_UNAVAILABLE, with its reason. */
export function unreachable(url: string, cause: unknown): StrataError {
  // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause.
  const inner: unknown = cause instanceof Error && cause.cause !== undefined ? cause.cause : cause;
  const reason = inner instanceof Error ? inner.message : String(inner);
  return new StrataError(
    'E_UNAVAILABLE',
    `cannot reach Strata at ${url} (${reason}); is \`strata up\` running? See --url or STRATA_URL`,
    { url },
    { cause },
  );
}

export function remoteOf(options: RemoteOptions, config: StrataConfig): Remote {
  const url = baseUrl(options, config);
  const key = keyOf(options, config);
  return {
    url,
    get: (path, headers, signal) =>
      fetch(`${url}${path}`, { headers: { ...headers, authorization: `Bearer ${key}` }, signal }),
    async call<T>(name: string, input: unknown): Promise<T> {
      let response: Response;
      try {
        response = await fetch(`${url}/v1/syscalls/${encodeURIComponent(name)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify(input),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (cause) {
        throw unreachable(url, cause);
      }
      const text = await response.text();
      let body: unknown = null;
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        // Not JSON (a proxy's error page): reported by status below.
      }
      if (!response.ok) throw errorFrom(response.status, body, url);
      return (body as { output: T }).output;
    },
  };
}
