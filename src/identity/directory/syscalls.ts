/**
 * `a2a.directory.*`: the tenant's agent directory over the syscall pipeline (so also over HTTP at
 * `/v1/syscalls/a2a.directory.<call>` and MCP). Resource `a2a/directory`.
 */
import { z } from 'zod';
import { defineSyscall, erase, type SyscallDefinition } from '../../kernel/index.ts';
import type { AgentDirectory, DirectoryEntry } from './directory.ts';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const entrySchema = z.object({
  id: z.string(),
  cardUrl: z.string(),
  agentUrl: z.string(),
  name: z.string(),
  description: z.string(),
  skills: z.array(
    z.object({ id: z.string(), name: z.string(), description: z.string(), tags: z.array(z.string()) }),
  ),
  kid: z.string().nullable(),
  possession: z.boolean(),
  addedAt: z.string(),
  refreshedAt: z.string(),
  lastSuccessAt: z.string().nullable(),
  lastFailureAt: z.string().nullable(),
  lastError: z.string().nullable(),
  calls: z.number(),
  failures: z.number(),
});

const entryOut = (e: DirectoryEntry): z.infer<typeof entrySchema> => ({
  ...e,
  skills: e.skills.map((s) => ({ ...s, tags: [...s.tags] })),
  addedAt: new Date(e.addedAt).toISOString(),
  refreshedAt: new Date(e.refreshedAt).toISOString(),
  lastSuccessAt: iso(e.lastSuccessAt),
  lastFailureAt: iso(e.lastFailureAt),
});

const ref = z.string().min(1).max(2000);

export function directorySyscalls(directory: AgentDirectory): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'a2a.directory.add',
        description:
          'Adds (or refreshes) a remote A2A agent from its base or card URL, after verifying its card ("signed" by default).',
        input: z
          .object({
            url: z.url({ protocol: /^https?$/ }).max(2000),
            trust: z.enum(['none', 'signed', 'possession']).default('signed'),
          })
          .strict(),
        output: entrySchema,
        idempotency: 'idempotent',
        timeoutMs: 60_000,
        resource: () => 'a2a/directory',
        handler: async (input, ctx) => entryOut(await directory.add(ctx.tenantId, input.url, input.trust)),
      }),
    ),
    erase(
      defineSyscall({
        name: 'a2a.directory.search',
        description:
          'Agents with a skill (id, name or tag) and/or words in their card; those that answered most recently first.',
        input: z
          .object({
            skill: z.string().min(1).max(200).optional(),
            text: z.string().max(500).optional(),
            limit: z.number().int().min(1).max(500).default(50),
          })
          .strict(),
        output: z.object({ agents: z.array(entrySchema) }),
        idempotency: 'pure',
        resource: () => 'a2a/directory',
        handler: async (input, ctx) => ({
          agents: (await directory.search(ctx.tenantId, input)).map(entryOut),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'a2a.directory.get',
        description: 'One directory entry by id or card URL.',
        input: z.object({ agent: ref }).strict(),
        output: entrySchema,
        idempotency: 'pure',
        resource: () => 'a2a/directory',
        handler: async (input, ctx) => entryOut(await directory.get(ctx.tenantId, input.agent)),
      }),
    ),
    erase(
      defineSyscall({
        name: 'a2a.directory.remove',
        description: 'Removes a directory entry (by id or card URL).',
        input: z.object({ agent: ref }).strict(),
        output: z.object({ removed: z.string() }),
        idempotency: 'idempotent',
        resource: () => 'a2a/directory',
        handler: async (input, ctx) => {
          await directory.remove(ctx.tenantId, input.agent);
          return { removed: input.agent };
        },
      }),
    ),
  ];
}
