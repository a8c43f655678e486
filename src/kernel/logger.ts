/**
 * @module kernel/logger
 * Structured logging with pino. Two layers of secret protection: pino's path-based redaction for
 * well-known secret fields, and value-based scrubbing in the syscall pipeline (see `redact.ts`) for
 * fields a syscall marks secret. Library code takes a logger; it never creates a global one.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Field names that are always secret, wherever they appear (two levels deep). */
export const SECRET_FIELD_NAMES = [
  'password',
  'secret',
  'token',
  'apiKey',
  'api_key',
  'authorization',
  'masterKey',
  'privateKey',
  'cookie',
];

const REDACT_PATHS = [
  ...SECRET_FIELD_NAMES,
  ...SECRET_FIELD_NAMES.map((f) => `*.${f}`),
  ...SECRET_FIELD_NAMES.map((f) => `*.*.${f}`),
  'req.headers.authorization',
  'req.headers["strata-capability"]',
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to inspect output. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'strata' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    options.destination,
  );
}

/** A logger that drops everything; the default inside the library. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
