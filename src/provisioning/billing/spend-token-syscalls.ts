/**
 * @module provisioning/billing/spend-token-syscalls
 * `billing.tokens.*` syscalls: issue, inspect, narrow, revoke, list. The tenant comes from the
 * caller's principal; amounts are decimal strings, times ISO 8601 (or epoch ms on input). A secret
 * travels only in `secret()` input fields, so the pipeline redacts it from logs, audit entries,
 * spans and errors, and never in a resource path. Resources: `billing/tokens[/<id>]`.
 *
 * The secret returned by `issue` and `narrow` is in their output, which the pipeline does not log
 * or audit (no `auditResult` here); shown once, it cannot be read back.
 */
import { z } from 'zod';
import { defineSyscall, erase, secret, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import { formatMicros } from './money.ts';
import type { SpendTokenInfo } from './spend-token-rules.ts';
import type { SpendTokens } from './spend-tokens.ts';

const text = z.string().min(1).max(200);
const amount = z.string().min(1).max(40).describe('decimal string, e.g. "5.00"');
const time = z.union([z.number().int(), z.iso.datetime()]).describe('ISO 8601 or epoch milliseconds');
const usage = z.enum(['single', 'multi']);
const secretInput = secret(z.string().min(1).max(200).describe('the spend token secret (spt_…)'));
const scopeSchema = z
  .object({
    kinds: z.array(z.string().min(1).max(100)).min(1).max(100).optional(),
    priceIds: z.array(text).min(1).max(100).optional(),
    resourceId: text.optional(),
  })
  .strict()
  .describe('at least one of kinds, priceIds, resourceId');

const tokenSchema = z.object({
  id: z.string(),
  parentId: z.string().nullable(),
  rootId: z.string(),
  scope: z.object({
    kinds: z.array(z.string()).optional(),
    priceIds: z.array(z.string()).optional(),
    resourceId: z.string().optional(),
  }),
  currency: z.string(),
  maxAmount: z.string(),
  perUseMax: z.string().optional(),
  expiresAt: z.string(),
  usage,
  status: z.enum(['active', 'deactivated']),
  deactivatedReason: z.enum(['consumed', 'expired', 'revoked']).optional(),
  deactivatedAt: z.string().optional(),
  note: z.string().optional(),
  reservedAmount: z.string(),
  capturedAmount: z.string(),
  remainingAmount: z.string(),
  createdAt: z.string(),
});
const issuedSchema = z.object({
  token: secret(z.string()).describe('the secret, shown once'),
  info: tokenSchema,
});

const timeOf = (t: number | string): number => (typeof t === 'number' ? t : Date.parse(t));
const iso = (ms: number): string => new Date(ms).toISOString();

/** A token's info for the wire: amounts as decimal strings, times as ISO 8601. */
export function spendTokenOut(t: SpendTokenInfo): z.infer<typeof tokenSchema> {
  const f = (v: bigint): string => formatMicros(v, t.currency);
  return {
    id: t.id,
    parentId: t.parentId,
    rootId: t.rootId,
    scope: {
      ...(t.scope.kinds ? { kinds: [...t.scope.kinds] } : {}),
      ...(t.scope.priceIds ? { priceIds: [...t.scope.priceIds] } : {}),
      ...(t.scope.resourceId ? { resourceId: t.scope.resourceId } : {}),
    },
    currency: t.currency,
    maxAmount: f(t.maxAmount),
    ...(t.perUseMax === undefined ? {} : { perUseMax: f(t.perUseMax) }),
    expiresAt: iso(t.expiresAt),
    usage: t.usage,
    status: t.status,
    ...(t.deactivatedReason ? { deactivatedReason: t.deactivatedReason } : {}),
    ...(t.deactivatedAt === undefined ? {} : { deactivatedAt: iso(t.deactivatedAt) }),
    ...(t.note === undefined ? {} : { note: t.note }),
    reservedAmount: f(t.reservedAmount),
    capturedAmount: f(t.capturedAmount),
    remainingAmount: f(t.remainingAmount),
    createdAt: iso(t.createdAt),
  };
}

export interface SpendTokenSyscallsOptions {
  /** Currency of `issue` when the input names none. @default 'USD' */
  readonly currency?: string;
}

export function spendTokenSyscalls(
  tokens: SpendTokens,
  options: SpendTokenSyscallsOptions = {},
): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'billing.tokens.issue',
        description:
          'Issues a spend token (scope, currency, maxAmount, optional perUseMax, expiresAt, single or multi use) funded from the tenant’s allocation. The secret is returned once.',
        input: z
          .object({
            scope: scopeSchema,
            currency: z
              .string()
              .regex(/^[A-Z]{3}$/)
              .default(options.currency ?? 'USD'),
            maxAmount: amount,
            perUseMax: amount.optional(),
            expiresAt: time,
            usage: usage.default('multi'),
          })
          .strict(),
        output: issuedSchema,
        idempotency: 'unsafe',
        resource: () => 'billing/tokens',
        handler: async (input, ctx) => {
          const issued = await tokens.issue(ctx.tenantId, { ...input, expiresAt: timeOf(input.expiresAt) });
          return { token: issued.token, info: spendTokenOut(issued.info) };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.tokens.inspect',
        description:
          'One spend token by id or by secret: scope, limits, status, reserved and captured amounts.',
        input: z
          .object({ id: text.optional(), secret: secretInput.optional() })
          .strict()
          .refine((i) => (i.id === undefined) !== (i.secret === undefined), 'give exactly one of id, secret'),
        output: tokenSchema,
        idempotency: 'pure',
        resource: (input) => (input.id ? `billing/tokens/${input.id}` : 'billing/tokens'),
        handler: async (input, ctx) =>
          spendTokenOut(await tokens.inspect(ctx.tenantId, input.id ?? input.secret ?? '')),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.tokens.narrow',
        description:
          'Makes a child of the token whose secret is given: each field only narrows the parent’s (omitted ones are inherited; maxAmount defaults to the parent’s remaining). Its spending counts against the parent too.',
        input: z
          .object({
            secret: secretInput,
            scope: scopeSchema.optional(),
            currency: z.string().optional(),
            maxAmount: amount.optional(),
            perUseMax: amount.optional(),
            expiresAt: time.optional(),
            usage: usage.optional(),
          })
          .strict(),
        output: issuedSchema,
        idempotency: 'unsafe',
        resource: () => 'billing/tokens',
        handler: async (input, ctx) => {
          const { secret: parent, expiresAt, ...rest } = input;
          const issued = await tokens.narrow(ctx.tenantId, parent, {
            ...rest,
            ...(expiresAt === undefined ? {} : { expiresAt: timeOf(expiresAt) }),
          });
          return { token: issued.token, info: spendTokenOut(issued.info) };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.tokens.revoke',
        description:
          'Revokes a spend token and every token narrowed from it; their open reservations are voided and a root’s unspent remainder returns to the allocation.',
        input: z.object({ id: text, reason: z.string().max(500).optional() }).strict(),
        output: tokenSchema,
        idempotency: 'idempotent',
        resource: (input) => `billing/tokens/${input.id}`,
        handler: async (input, ctx) =>
          spendTokenOut(await tokens.revoke(ctx.tenantId, input.id, input.reason)),
      }),
    ),
    erase(
      defineSyscall({
        name: 'billing.tokens.list',
        description: 'The tenant’s spend tokens, newest first, optionally only active or deactivated ones.',
        input: z
          .object({
            status: z.enum(['active', 'deactivated']).optional(),
            limit: z.number().int().min(1).max(1000).default(100),
          })
          .strict(),
        output: z.object({ tokens: z.array(tokenSchema) }),
        idempotency: 'pure',
        resource: () => 'billing/tokens',
        handler: async (input, ctx) => ({
          tokens: (await tokens.list(ctx.tenantId, input)).map(spendTokenOut),
        }),
      }),
    ),
  ];
}
