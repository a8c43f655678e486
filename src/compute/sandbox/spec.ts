/**
 * @module compute/sandbox/spec
 * The sandbox spec as the caller writes it (`SandboxSpecInput`, every field optional but `kind`
 * defaulting to ephemeral) and its validation into a full {@link SandboxSpec}: limits are positive
 * integers within hard ceilings, names are safe directory names, network entries are `host:port`.
 * Bad input is `E_INVALID_INPUT` with `data.issues` naming each bad path.
 */
import { z } from 'zod';
import { StrataError } from '../../kernel/errors.ts';
import type { SandboxLimits, SandboxSpec } from './types.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const DEFAULT_LIMITS: SandboxLimits = {
  workspaceBytes: 256 * MiB,
  cpuSeconds: 60,
  memoryBytes: 512 * MiB,
  pids: 128,
  wallTimeMs: 60_000,
  outputBytes: MiB,
};

const positive = (max: number): z.ZodNumber => z.number().int().positive().max(max);

export const limitsSchema = z
  .object({
    workspaceBytes: positive(64 * GiB).optional(),
    cpuSeconds: positive(24 * 3600).optional(),
    memoryBytes: positive(64 * GiB)
      .min(16 * MiB)
      .optional(),
    pids: positive(65_536).optional(),
    wallTimeMs: positive(24 * 3600 * 1000).optional(),
    outputBytes: positive(64 * MiB).optional(),
  })
  .strict();

/** `host:port` or `host:*`; host is a DNS name, IPv4 or bracketed IPv6. */
const HOST_PORT =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:]+\]):(?:\*|[1-9][0-9]{0,4})$/i;

export const networkSchema = z.union([
  z.literal('none'),
  z
    .object({
      allow: z
        .array(
          z
            .string()
            .max(300)
            .regex(HOST_PORT, 'expected host:port (port may be *)')
            .refine((entry) => {
              const port = entry.slice(entry.lastIndexOf(':') + 1);
              return port === '*' || Number(port) <= 65_535;
            }, 'port out of range'),
        )
        .max(256),
    })
    .strict(),
]);

export const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const envKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid environment variable name');

export const specInputSchema = z
  .object({
    kind: z.enum(['ephemeral', 'persistent']).default('ephemeral'),
    name: z.string().regex(NAME, 'lower-case letters, digits, . _ - (max 63)').optional(),
    driver: z.string().min(1).max(50).optional(),
    runtimes: z.array(z.string().min(1).max(50)).max(20).optional(),
    limits: limitsSchema.optional(),
    network: networkSchema.optional(),
    env: z.record(envKey, z.string().max(32_768)).optional(),
    idleTimeoutMs: positive(7 * 24 * 3600 * 1000).optional(),
  })
  .strict();

export type SandboxSpecInput = z.input<typeof specInputSchema>;

export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

/** Validates a spec; `runtimes` are checked against what the chosen driver can mount. */
export function parseSpec(input: unknown, available: readonly string[]): SandboxSpec {
  const parsed = specInputSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new StrataError('E_INVALID_INPUT', 'invalid sandbox spec', { issues: issuesOf(parsed.error) });
  }
  const value = parsed.data;
  if (value.kind === 'persistent' && value.name === undefined) {
    throw new StrataError('E_INVALID_INPUT', 'a persistent sandbox needs a name', {
      issues: [{ path: 'name', message: 'required when kind is persistent' }],
    });
  }
  const runtimes = [...new Set(value.runtimes ?? ['sh'])];
  const unknown = runtimes.filter((runtime) => !available.includes(runtime));
  if (unknown.length > 0) {
    throw new StrataError('E_INVALID_INPUT', `unknown runtime ${unknown.map((r) => `"${r}"`).join(', ')}`, {
      issues: unknown.map((runtime) => ({
        path: 'runtimes',
        message: `no runtime "${runtime}"; available: ${available.join(', ')}`,
      })),
      available,
    });
  }
  return {
    kind: value.kind,
    ...(value.name === undefined ? {} : { name: value.name }),
    ...(value.driver === undefined ? {} : { driver: value.driver }),
    runtimes,
    limits: { ...DEFAULT_LIMITS, ...value.limits },
    network: value.network ?? 'none',
    env: value.env ?? {},
    idleTimeoutMs: value.idleTimeoutMs ?? 5 * 60_000,
  };
}
