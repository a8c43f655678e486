/**
 * @module server/schemas
 * Response shapes of the routes that are not syscalls, declared once with zod: the routes build
 * their bodies with these types and the OpenAPI document is generated from the same schemas, so the
 * two cannot drift apart.
 */
import { z } from 'zod';
import { ERROR_CODES, type Principal, type StrataErrorCode } from '../kernel/index.ts';

export const healthSchema = z.object({ status: z.enum(['ok', 'draining']) });

const codes = Object.keys(ERROR_CODES) as [StrataErrorCode, ...StrataErrorCode[]];

export const errorBodySchema = z.object({
  error: z.object({
    code: z.enum(codes).describe('Stable error code; branch on it, not on the message.'),
    message: z.string().describe('What went wrong and what to do next, for humans.'),
    data: z.unknown().optional().describe('Details documented per code (e.g. `issues` for E_INVALID_INPUT).'),
  }),
});

const idempotency = z.enum(['pure', 'idempotent', 'unsafe']);

export const syscallSummarySchema = z.object({
  name: z.string(),
  description: z.string(),
  idempotency,
});

export const syscallListSchema = z.object({ syscalls: z.array(syscallSummarySchema) });

export const syscallDetailSchema = syscallSummarySchema.extend({
  inputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema (2020-12) of the input.'),
  outputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema (2020-12) of the output.'),
  granted: z.boolean().describe('Whether one of the caller’s grants names this syscall.'),
});

const grantSchema = z.object({
  syscall: z.string(),
  resource: z.string(),
  constraints: z.unknown().optional(),
});

export const whoamiSchema = z.object({
  tenantId: z.string(),
  principalId: z.string(),
  kind: z.enum(['api_key', 'agent']),
  tokenJti: z.string().optional(),
  grants: z.array(grantSchema),
});

export type Whoami = z.infer<typeof whoamiSchema>;

/** The caller as `/v1/whoami` shows it: the same shape as the `kernel.whoami` syscall's output. */
export function whoamiOf(principal: Principal): Whoami {
  return {
    tenantId: principal.tenantId,
    principalId: principal.id,
    kind: principal.kind,
    ...(principal.tokenJti === undefined ? {} : { tokenJti: principal.tokenJti }),
    grants: principal.grants.map((grant) => ({ ...grant })),
  };
}

export type SyscallList = z.infer<typeof syscallListSchema>;
export type SyscallDetail = z.infer<typeof syscallDetailSchema>;
