/**
 * @module provisioning/resources/syscalls
 * `provision.*` syscalls: the catalog, provisioning (idempotent by key), get, list, suspend,
 * resume, destroy, credential rotation, the env of a tenant's resources (secrets redacted unless
 * `reveal`) and a resource's transition history. The tenant always comes from the caller's
 * principal; the billed subject defaults to the calling agent's principal.
 * Resources: `provision/catalog`, `provision/<name or id>`, `provision/env`.
 */
import { z } from 'zod';
import { defineSyscall, erase, secret, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { ResourceManager } from './manager.ts';
import type { Resource } from './records.ts';
import { RESOURCE_STATES } from './types.ts';

const ref = z.object({ resource: z.string().min(1).max(200) }).strict();
const stateSchema = z.enum(RESOURCE_STATES as [string, ...string[]]);
const stringMap = z.record(z.string(), z.string());

const resourceSchema = z.object({
  id: z.string(),
  kind: z.string(),
  name: z.string(),
  state: stateSchema,
  config: z.unknown(),
  labels: stringMap,
  env: stringMap,
  subject: z.string(),
  idleMs: z.number(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string(),
  error: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const iso = (ms: number): string => new Date(ms).toISOString();

function out(r: Resource): z.infer<typeof resourceSchema> {
  return {
    ...r,
    labels: { ...r.labels },
    env: { ...r.env },
    expiresAt: r.expiresAt === null ? null : iso(r.expiresAt),
    lastUsedAt: iso(r.lastUsedAt),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

/** A per-resource call: `{ resource }` in, the resource out. */
function perResource(
  name: string,
  description: string,
  act: (tenantId: string, resource: string) => Promise<Resource>,
): SyscallDefinition<unknown, unknown> {
  return erase(
    defineSyscall({
      name,
      description,
      input: ref,
      output: resourceSchema,
      idempotency: 'idempotent',
      resource: (input) => `provision/${input.resource}`,
      handler: async (input, ctx) => out(await act(ctx.tenantId, input.resource)),
    }),
  );
}

export function provisionSyscalls(manager: ResourceManager): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'provision.catalog',
        description: 'The resource kinds this server can provision, with the meters each emits.',
        input: z.object({}).strict(),
        output: z.object({
          kinds: z.array(
            z.object({
              kind: z.string(),
              description: z.string(),
              meters: z.object({ readySeconds: z.string(), provisions: z.string() }),
            }),
          ),
        }),
        idempotency: 'pure',
        resource: () => 'provision/catalog',
        handler: () => ({ kinds: manager.catalog() }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'provision.create',
        description:
          'Provisions a resource (postgres, sqlite, sandbox, browser). The same idempotencyKey with the same request returns the same resource and charges once.',
        input: z
          .object({
            kind: z.string().min(1).max(50),
            name: z.string().min(1).max(200),
            config: z.record(z.string(), z.unknown()).optional(),
            labels: z.record(z.string().max(63), z.string().max(200)).optional(),
            idempotencyKey: z.string().min(1).max(200).optional(),
            idleMinutes: z.number().positive().max(10_080).optional(),
            ttlMinutes: z.number().positive().max(525_600).optional(),
            subject: z.string().min(1).max(200).optional(),
            spendToken: secret(
              z
                .string()
                .min(1)
                .max(200)
                .describe('a spend token secret (spt_…) that pays for this provision'),
            ).optional(),
          })
          .strict(),
        output: resourceSchema,
        idempotency: 'idempotent',
        timeoutMs: 120_000,
        resource: (input) => `provision/${input.name}`,
        handler: async (input, ctx) =>
          out(
            await manager.provision(ctx.tenantId, {
              kind: input.kind,
              name: input.name,
              config: input.config,
              labels: input.labels,
              idempotencyKey: input.idempotencyKey ?? ctx.idempotencyKey,
              idleMs: input.idleMinutes === undefined ? undefined : Math.round(input.idleMinutes * 60_000),
              ttlMs: input.ttlMinutes === undefined ? undefined : Math.round(input.ttlMinutes * 60_000),
              subject:
                input.subject ?? (ctx.principal.kind === 'agent' ? `agent:${ctx.principal.id}` : 'tenant'),
              principalId: ctx.principal.id,
              spendToken: input.spendToken,
            }),
          ),
      }),
    ),
    perResource('provision.get', 'One resource by name or id.', (t, r) => manager.get(t, r)),
    erase(
      defineSyscall({
        name: 'provision.list',
        description: 'The tenant’s resources, optionally by state, kind and labels.',
        input: z
          .object({
            state: stateSchema.optional(),
            kind: z.string().max(50).optional(),
            labels: stringMap.optional(),
          })
          .strict(),
        output: z.object({ resources: z.array(resourceSchema) }),
        idempotency: 'pure',
        resource: () => 'provision/list',
        handler: async (input, ctx) => ({
          resources: (
            await manager.list(ctx.tenantId, {
              state: input.state as Resource['state'] | undefined,
              kind: input.kind,
              labels: input.labels,
            })
          ).map(out),
        }),
      }),
    ),
    perResource('provision.suspend', 'Scales a resource to zero; data is kept.', (t, r) =>
      manager.suspend(t, r),
    ),
    perResource('provision.resume', 'Brings a suspended resource back.', (t, r) => manager.resume(t, r)),
    perResource(
      'provision.destroy',
      'Starts teardown: billing stops now, the object is removed in the background.',
      (t, r) => manager.destroy(t, r),
    ),
    erase(
      defineSyscall({
        name: 'provision.rotate',
        description: 'New credentials for a resource; the old ones stop working. Returns the new secrets.',
        input: ref,
        output: z.object({ secrets: stringMap }),
        idempotency: 'unsafe',
        resource: (input) => `provision/${input.resource}`,
        handler: async (input, ctx) => ({
          secrets: await manager.rotateCredentials(ctx.tenantId, input.resource),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'provision.use',
        description:
          'Connection details of one resource with its secrets; resumes it if suspended and resets its idle timer.',
        input: ref,
        output: z.object({ resource: resourceSchema, env: stringMap }),
        idempotency: 'idempotent',
        resource: (input) => `provision/${input.resource}`,
        handler: async (input, ctx) => {
          const used = await manager.use(ctx.tenantId, input.resource);
          return { resource: out(used.resource), env: used.env };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'provision.env',
        description: 'Env of every live resource as NAME_KEY=value; secrets are [REDACTED] unless reveal.',
        input: z.object({ reveal: z.boolean().default(false) }).strict(),
        output: z.object({ env: stringMap }),
        idempotency: 'pure',
        resource: (input) => (input.reveal ? 'provision/env/reveal' : 'provision/env'),
        handler: async (input, ctx) => ({ env: await manager.env(ctx.tenantId, { reveal: input.reveal }) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'provision.history',
        description: 'Every state transition of a resource, timestamped, with its reason.',
        input: ref,
        output: z.object({
          transitions: z.array(
            z.object({
              seq: z.number(),
              from: stateSchema.nullable(),
              to: stateSchema,
              reason: z.string(),
              at: z.string(),
            }),
          ),
        }),
        idempotency: 'pure',
        resource: (input) => `provision/${input.resource}`,
        handler: async (input, ctx) => ({
          transitions: (await manager.history(ctx.tenantId, input.resource)).map((t) => ({
            ...t,
            at: iso(t.at),
          })),
        }),
      }),
    ),
  ];
}
