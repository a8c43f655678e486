/**
 * @module kernel/builtins/basic
 * Two small syscalls that exercise the whole pipeline end to end, used by tests, benchmarks and as
 * the first thing a new user calls: `kernel.echo` (no effects; its optional `secret` field shows
 * redaction at work) and `kernel.time` (reads the kernel's clock).
 */
import { z } from 'zod';
import { defineSyscall, secret } from '../syscalls/define.ts';

export const echo = defineSyscall({
  name: 'kernel.echo',
  description: 'Returns the message it is given. The optional `secret` is never logged, audited or echoed.',
  input: z
    .object({
      message: z.string().max(10_000),
      secret: secret(z.string().max(1_000)).optional(),
    })
    .strict(),
  output: z.object({ message: z.string(), hadSecret: z.boolean() }),
  idempotency: 'pure',
  timeoutMs: 1_000,
  handler: (input) => ({ message: input.message, hadSecret: input.secret !== undefined }),
});

export const time = defineSyscall({
  name: 'kernel.time',
  description: 'Returns the kernel clock’s current time.',
  input: z.object({}).strict(),
  output: z.object({ now: z.number().int(), iso: z.string() }),
  idempotency: 'pure',
  timeoutMs: 1_000,
  handler: (_input, ctx) => {
    const now = ctx.clock.now();
    return { now, iso: new Date(now).toISOString() };
  },
});

export const whoami = defineSyscall({
  name: 'kernel.whoami',
  description: 'Describes the calling principal: tenant, id, kind and effective grants.',
  input: z.object({}).strict(),
  output: z.object({
    tenantId: z.string(),
    principalId: z.string(),
    kind: z.enum(['api_key', 'agent']),
    tokenJti: z.string().optional(),
    grants: z.array(
      z.object({ syscall: z.string(), resource: z.string(), constraints: z.unknown().optional() }),
    ),
  }),
  idempotency: 'pure',
  handler: (_input, { principal }) => ({
    tenantId: principal.tenantId,
    principalId: principal.id,
    kind: principal.kind,
    tokenJti: principal.tokenJti,
    grants: principal.grants.map((g) => ({ ...g })),
  }),
});
