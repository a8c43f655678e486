/**
 * @module kernel/builtins/admin
 * Kernel syscalls over the kernel's own objects: capability tokens and the audit log. Like every
 * syscall they act only inside the caller's tenant (the tenant comes from the principal), so tenant
 * A's key can never see or touch tenant B's tokens or audit chain.
 */
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.ts';
import type { CapabilityAuthority } from '../auth/capabilities.ts';
import { grantCovers, grantsSchema } from '../auth/grants.ts';
import { StrataError } from '../errors.ts';
import { idPattern } from '../ids.ts';
import { defineSyscall, erase, type SyscallDefinition } from '../syscalls/define.ts';

const RUN_ID = idPattern('run');
const runIdFilter = z.string().regex(RUN_ID, 'must be a run id such as run_01JD3Q8Z5V7XKXG5M4N2T9W6YB');

const grantOut = z.object({ syscall: z.string(), resource: z.string(), constraints: z.unknown().optional() });

export function adminSyscalls(deps: {
  authority: CapabilityAuthority;
  audit: AuditLog;
}): SyscallDefinition<unknown, unknown>[] {
  const { authority, audit } = deps;
  return [
    erase(
      defineSyscall({
        name: 'kernel.tokens.issue',
        description: 'Issues a capability token to a subject, with grants no wider than the caller’s own.',
        input: z
          .object({
            subject: z.string().min(1).max(200),
            grants: grantsSchema,
            ttlSeconds: z
              .number()
              .int()
              .positive()
              .max(366 * 24 * 3600),
          })
          .strict(),
        output: z.object({
          token: z.string(),
          jti: z.string(),
          expiresAt: z.number().int(),
          grants: z.array(grantOut),
        }),
        idempotency: 'unsafe',
        resource: () => 'kernel/tokens',
        handler: async (input, { principal }) => {
          for (const grant of input.grants) {
            if (!principal.grants.some((held) => grantCovers(held, grant))) {
              throw new StrataError(
                'E_ATTENUATION',
                `cannot issue a grant wider than your own: ${grant.syscall} on ${grant.resource}`,
                {
                  grant,
                },
              );
            }
          }
          const { token, claims } = await authority.issue({
            tenantId: principal.tenantId,
            subject: input.subject,
            grants: input.grants,
            ttlSeconds: input.ttlSeconds,
          });
          return {
            token,
            jti: claims.jti,
            expiresAt: claims.exp * 1000,
            grants: claims.grants.map((g) => ({ ...g })),
          };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'kernel.tokens.revoke',
        description: 'Revokes a token of the caller’s tenant, and with it every token derived from it.',
        input: z
          .object({ jti: z.string().min(1).max(100), reason: z.string().max(500).default('revoked') })
          .strict(),
        output: z.object({ jti: z.string(), revoked: z.literal(true) }),
        idempotency: 'idempotent',
        resource: () => 'kernel/tokens',
        handler: async (input, { principal }) => {
          await authority.revoke(principal.tenantId, input.jti, input.reason);
          return { jti: input.jti, revoked: true as const };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'kernel.audit.list',
        description:
          'Lists the caller tenant’s audit entries in chain order (or newest first), optionally filtered by syscall name prefix, outcome, principal, time window, run (`runId`: calls made in that durable run or acting on it) and run tree (`rootRunId`: every run under that root, the root included); `next` is the seq to page on from, `head` the chain’s head.',
        input: z
          .object({
            afterSeq: z.number().int().nonnegative().default(0),
            /** Newest first only: entries before this seq. */
            beforeSeq: z.number().int().positive().optional(),
            order: z.enum(['asc', 'desc']).default('asc'),
            limit: z.number().int().min(1).max(1000).default(100),
            action: z.string().min(1).max(200).optional(),
            outcome: z.enum(['ok', 'denied', 'error']).optional(),
            principalId: z.string().min(1).max(200).optional(),
            /** Epoch ms, inclusive. */
            since: z.number().int().nonnegative().optional(),
            /** Epoch ms, exclusive. */
            until: z.number().int().nonnegative().optional(),
            runId: runIdFilter.optional(),
            rootRunId: runIdFilter.optional(),
          })
          .strict()
          .refine((i) => i.order === 'desc' || i.beforeSeq === undefined, {
            message: 'beforeSeq pages newest first: give order "desc"',
            path: ['beforeSeq'],
          })
          .refine((i) => i.order === 'asc' || i.afterSeq === 0, {
            message: 'afterSeq pages oldest first: give order "asc" (or beforeSeq)',
            path: ['afterSeq'],
          }),
        output: z.object({
          entries: z.array(z.record(z.string(), z.unknown())),
          next: z.number().int().optional(),
          head: z.object({ seq: z.number().int(), hash: z.string() }),
        }),
        idempotency: 'pure',
        resource: () => 'kernel/audit',
        handler: async (input, { tenantId }) => {
          // The head first: every entry it covers is committed, so an export can stop exactly there.
          const head = await audit.head(tenantId);
          const entries = await audit.list(tenantId, input);
          const last = entries.at(-1);
          return {
            entries: entries.map((e) => ({ ...e })),
            ...(last && entries.length === input.limit ? { next: last.seq } : {}),
            head: { seq: head.seq, hash: head.hash },
          };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'kernel.audit.verify',
        description: 'Verifies the caller tenant’s audit chain and names the first bad entry, if any.',
        input: z.object({}).strict(),
        output: z.object({
          ok: z.boolean(),
          entries: z.number().int(),
          headHash: z.string(),
          firstBad: z
            .object({ seq: z.number(), id: z.string(), problem: z.string(), detail: z.string() })
            .optional(),
        }),
        idempotency: 'pure',
        resource: () => 'kernel/audit',
        handler: async (_input, { tenantId }) => {
          const verdict = await audit.verify(tenantId);
          return {
            ok: verdict.ok,
            entries: verdict.entries,
            headHash: verdict.headHash,
            firstBad: verdict.firstBad,
          };
        },
      }),
    ),
  ];
}
