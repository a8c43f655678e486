/**
 * @module kernel/builtins/keys
 * API-key management as syscalls, so creating and revoking keys over the API is capability-checked
 * and lands in the tenant's audit chain. A caller can only mint a key whose grants its own grants
 * cover; the new key's secret is in the output only (outputs are never audited or logged).
 */
import { z } from 'zod';
import { grantCovers, grantsSchema } from '../auth/grants.ts';
import type { Principals } from '../auth/principals.ts';
import { StrataError } from '../errors.ts';
import { defineSyscall, erase, type SyscallDefinition } from '../syscalls/define.ts';

const keyRecord = z.object({
  id: z.string(),
  name: z.string(),
  grants: z.array(
    z.object({ syscall: z.string(), resource: z.string(), constraints: z.unknown().optional() }),
  ),
  createdAt: z.number(),
  revokedAt: z.number().nullable(),
});

export function keySyscalls(principals: Principals): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'kernel.keys.create',
        description: 'Creates an API key in the caller’s tenant, with grants no wider than the caller’s own.',
        input: z.object({ name: z.string().min(1).max(100), grants: grantsSchema }).strict(),
        output: z.object({ key: z.string(), record: keyRecord }),
        idempotency: 'unsafe',
        resource: () => 'kernel/keys',
        handler: async (input, { principal }) => {
          for (const grant of input.grants) {
            if (!principal.grants.some((held) => grantCovers(held, grant))) {
              throw new StrataError(
                'E_ATTENUATION',
                `cannot grant wider than your own: ${grant.syscall} on ${grant.resource}`,
                {
                  grant,
                },
              );
            }
          }
          const { key, record } = await principals.createApiKey({ tenantId: principal.tenantId, ...input });
          return { key, record: { ...record, grants: record.grants.map((g) => ({ ...g })) } };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'kernel.keys.list',
        description: 'Lists the caller tenant’s API keys (never their secrets).',
        input: z.object({}).strict(),
        output: z.object({ keys: z.array(keyRecord) }),
        idempotency: 'pure',
        resource: () => 'kernel/keys',
        handler: async (_input, { tenantId }) => ({
          keys: (await principals.listApiKeys(tenantId)).map((r) => ({
            ...r,
            grants: r.grants.map((g) => ({ ...g })),
          })),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'kernel.keys.revoke',
        description: 'Revokes an API key of the caller’s tenant.',
        input: z.object({ id: z.string().min(1).max(100) }).strict(),
        output: z.object({ id: z.string(), revoked: z.literal(true) }),
        idempotency: 'idempotent',
        resource: () => 'kernel/keys',
        handler: async (input, { tenantId }) => {
          await principals.revokeApiKey(tenantId, input.id);
          return { id: input.id, revoked: true as const };
        },
      }),
    ),
  ];
}
