/**
 * @module memory/syscalls
 * The memory API as syscalls — `memory.add`, `memory.search`, `memory.get`, `memory.update`,
 * `memory.delete`, `memory.history`, `memory.list`, `memory.export`, `memory.import` — so every
 * memory operation is capability-checked, audited and metered by the kernel pipeline and reachable
 * from HTTP (`POST /v1/syscalls/memory.search`), MCP, the CLI and workflows (`ctx.memory.search`).
 *
 * The tenant comes from the caller's principal. The resource is the scope
 * (`memory/agent/<a|_>/user/<u|_>/run/<r|_>`, see `memory/scope`), so grants confine an agent to
 * its own memories; calls by id take the scope too and answer E_NOT_FOUND for a memory outside it.
 *
 * Extraction: when a model is named — `model` in the `memory.add` input, or `extractionModel` in
 * the options — and a `model.generate` syscall is registered (the models layer), facts are
 * extracted through it as the caller (so the model call is checked against the caller's grants,
 * metered and audited too); otherwise the offline extractor does.
 */
import { z } from 'zod';
import {
  defineSyscall,
  erase,
  type SyscallContext,
  type SyscallDefinition,
} from '../kernel/syscalls/define.ts';
import type { CallOptions } from '../kernel/index.ts';
import { LIMITS } from './limits.ts';
import type { MemoryService } from './memory.ts';
import { ModelExtractor } from './model-extractor.ts';
import { scopeResource, scopeSchema } from './scope.ts';

/** What the syscalls need of the kernel to reach `model.generate`. */
export interface SyscallCaller {
  readonly registry: { has(name: string): boolean };
  call<TOutput = unknown>(name: string, input: unknown, options: CallOptions): Promise<TOutput>;
}

export interface MemorySyscallOptions {
  /** The kernel, to use `model.generate` for extraction when it is registered. */
  kernel?: SyscallCaller;
  /** The model (`<provider>/<model>` or a route) extraction uses when a call names none. */
  extractionModel?: string;
  /** @default 'model.generate' */
  modelSyscall?: string;
}

const memoryId = z.string().min(1).max(100);
const metadata = z.record(z.string(), z.unknown());

export const memorySchema = z.object({
  id: z.string(),
  kind: z.enum(['fact', 'message']),
  text: z.string(),
  scope: scopeSchema,
  status: z.enum(['active', 'invalid', 'deleted']),
  speaker: z.string().nullable(),
  sources: z.array(z.string()),
  subject: z.string().nullable(),
  predicate: z.string().nullable(),
  object: z.string().nullable(),
  entities: z.array(z.string()),
  metadata,
  eventAt: z.number(),
  validFrom: z.number(),
  validTo: z.number().nullable(),
  supersededBy: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});

const signal = z.object({ rank: z.number(), score: z.number() });
const hitSchema = z.object({
  memory: memorySchema,
  score: z.number(),
  signals: z.object({
    text: signal.extend({ terms: z.array(z.string()) }).optional(),
    vector: signal.optional(),
    entity: signal.extend({ entities: z.array(z.string()) }).optional(),
    graph: signal.extend({ relation: z.string() }).optional(),
    recency: signal.optional(),
  }),
  context: z.array(memorySchema),
});

const historySchema = z.object({
  id: z.string(),
  memoryId: z.string(),
  event: z.enum(['ADD', 'UPDATE', 'DELETE']),
  oldText: z.string().nullable(),
  newText: z.string().nullable(),
  sources: z.array(z.string()),
  reason: z.string(),
  at: z.number(),
});

const messageSchema = z
  .object({
    role: z.enum(['user', 'assistant', 'system', 'tool']).optional(),
    name: z.string().max(200).optional(),
    // Length is checked by the service so an oversize text gets E_PAYLOAD_TOO_LARGE with the limit.
    content: z.string(),
    id: z.string().min(1).max(200).optional(),
    at: z.union([z.number(), z.string()]).optional(),
  })
  .strict();

const filtersSchema = z
  .object({
    kind: z.enum(['fact', 'message']).optional(),
    metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    includeInvalid: z.boolean().optional(),
    asOf: z.number().int().optional(),
  })
  .strict();

const byId = z.object({ scope: scopeSchema.optional(), id: memoryId }).strict();

export function memorySyscalls(
  memory: MemoryService,
  options: MemorySyscallOptions = {},
): SyscallDefinition<unknown, unknown>[] {
  const modelSyscall = options.modelSyscall ?? 'model.generate';
  const extractorFor = (ctx: SyscallContext, model: string | undefined): ModelExtractor | undefined => {
    const kernel = options.kernel;
    if (model === undefined || !kernel?.registry.has(modelSyscall)) return undefined;
    return new ModelExtractor(async (prompt) => {
      const out = await kernel.call<{ text?: unknown }>(
        modelSyscall,
        { model, messages: [{ role: 'user', content: prompt }], temperature: 0 },
        { principal: ctx.principal },
      );
      return typeof out.text === 'string' ? out.text : '';
    });
  };
  return [
    erase(
      defineSyscall({
        name: 'memory.add',
        description:
          'Adds messages (or one text) to a scope. With infer (default) keeps the raw messages and extracts facts, deciding ADD/UPDATE/DELETE/NOOP against what is known; a contradicted fact is invalidated, never destroyed.',
        input: z
          .object({
            scope: scopeSchema,
            messages: z.array(messageSchema).max(LIMITS.messages).optional(),
            text: z.string().optional(),
            metadata: metadata.optional(),
            infer: z.boolean().optional(),
            /** Extract with this model (through `model.generate`) instead of the offline extractor. */
            model: z.string().min(1).max(200).optional(),
          })
          .strict()
          .refine(
            (i) => (i.messages === undefined) !== (i.text === undefined),
            'give either messages or text',
          ),
        output: z.object({
          results: z.array(
            z.object({
              event: z.enum(['ADD', 'UPDATE', 'DELETE', 'NOOP']),
              id: z.string(),
              text: z.string(),
              previousText: z.string().optional(),
              reason: z.string(),
            }),
          ),
          messages: z.array(z.string()),
          extractor: z.string(),
        }),
        idempotency: 'unsafe',
        resource: (input) => scopeResource(input.scope),
        timeoutMs: 120_000,
        handler: (input, ctx) => {
          const extractor =
            input.infer === false ? undefined : extractorFor(ctx, input.model ?? options.extractionModel);
          return memory.add(ctx.tenantId, input.scope, input.messages ?? (input.text as string), {
            metadata: input.metadata,
            infer: input.infer,
            ...(extractor ? { extractor } : {}),
          });
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'memory.search',
        description:
          'Hybrid search (BM25 + vectors + entity graph + recency, fused by reciprocal rank) within a scope; each hit explains which signals matched.',
        input: z
          .object({
            scope: scopeSchema,
            query: z.string(),
            k: z.number().int().min(1).max(LIMITS.k).optional(),
            filters: filtersSchema.optional(),
            minScore: z.number().min(0).optional(),
            neighbors: z.number().int().min(0).max(5).optional(),
            /** The search's deadline (under the syscall's 30 s); past it, E_SYSCALL_TIMEOUT. */
            timeoutMs: z.number().int().positive().max(25_000).optional(),
          })
          .strict(),
        output: z.object({ hits: z.array(hitSchema) }),
        idempotency: 'pure',
        resource: (input) => scopeResource(input.scope),
        handler: async (input, ctx) => ({
          hits: await memory.search(ctx.tenantId, input.scope, input.query, {
            k: input.k,
            filters: input.filters,
            minScore: input.minScore,
            neighbors: input.neighbors,
            signal: ctx.signal,
            timeoutMs: input.timeoutMs,
          }),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'memory.get',
        description: 'Returns one memory of the scope (deleted and invalidated ones too, with their status).',
        input: byId,
        output: memorySchema,
        idempotency: 'pure',
        resource: (input) => scopeResource(input.scope),
        handler: (input, ctx) => memory.get(ctx.tenantId, input.scope ?? {}, input.id),
      }),
    ),
    erase(
      defineSyscall({
        name: 'memory.update',
        description:
          'Replaces an active fact’s text and/or merges metadata; the previous text stays in its history.',
        input: z
          .object({
            scope: scopeSchema.optional(),
            id: memoryId,
            text: z.string().optional(),
            metadata: metadata.optional(),
          })
          .strict(),
        output: memorySchema,
        idempotency: 'unsafe',
        resource: (input) => scopeResource(input.scope),
        handler: (input, ctx) =>
          memory.update(ctx.tenantId, input.scope ?? {}, input.id, {
            text: input.text,
            metadata: input.metadata,
          }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'memory.delete',
        description:
          'Marks a memory deleted: it leaves search and lists, its history is kept. Repeating is a no-op.',
        input: byId,
        output: memorySchema,
        idempotency: 'idempotent',
        resource: (input) => scopeResource(input.scope),
        handler: (input, ctx) => memory.delete(ctx.tenantId, input.scope ?? {}, input.id),
      }),
    ),
    erase(
      defineSyscall({
        name: 'memory.history',
        description: 'Every change of a memory (ADD/UPDATE/DELETE) with time, reason and source message ids.',
        input: byId,
        output: z.object({ entries: z.array(historySchema) }),
        idempotency: 'pure',
        resource: (input) => scopeResource(input.scope),
        handler: async (input, ctx) => ({
          entries: await memory.history(ctx.tenantId, input.scope ?? {}, input.id),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'memory.list',
        description: 'Lists a scope’s memories by id; `next` is the cursor of the next page.',
        input: z
          .object({
            scope: scopeSchema,
            kind: z.enum(['fact', 'message']).optional(),
            status: z.enum(['active', 'invalid', 'deleted', 'all']).optional(),
            limit: z.number().int().min(1).max(1000).default(100),
            after: memoryId.optional(),
          })
          .strict(),
        output: z.object({ memories: z.array(memorySchema), next: z.string().optional() }),
        idempotency: 'pure',
        resource: (input) => scopeResource(input.scope),
        handler: async (input, ctx) => {
          const memories = await memory.list(ctx.tenantId, input.scope, input);
          const last = memories.at(-1);
          return memories.length === input.limit && last ? { memories, next: last.id } : { memories };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'memory.export',
        description: 'Exports a scope’s memories and their history as JSON Lines (format strata.memory v1).',
        input: z.object({ scope: scopeSchema }).strict(),
        output: z.object({ jsonl: z.string() }),
        idempotency: 'pure',
        resource: (input) => scopeResource(input.scope),
        timeoutMs: 300_000,
        handler: async (input, ctx) => ({ jsonl: await memory.export(ctx.tenantId, input.scope) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'memory.import',
        description:
          'Imports a JSON Lines export into the caller’s tenant; every memory must lie inside the given scope. All lines are validated first (a bad one is named by its line number) and written in one transaction.',
        input: z.object({ scope: scopeSchema, jsonl: z.string().min(1) }).strict(),
        output: z.object({ memories: z.number(), history: z.number() }),
        idempotency: 'unsafe',
        resource: (input) => scopeResource(input.scope),
        timeoutMs: 300_000,
        handler: (input, ctx) => memory.import(ctx.tenantId, input.scope, input.jsonl),
      }),
    ),
  ];
}
