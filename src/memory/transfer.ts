/**
 * @module memory/transfer
 * Export and import as JSON Lines — the open format memories leave Strata in.
 *
 * Format (`strata.memory` version 1), one JSON object per line:
 * 1. a header: `{"format":"strata.memory","version":1,"exportedAt":<ms>,"scope":{…},"memories":N,"history":M}`;
 * 2. N memory lines: `{"type":"memory","id","kind","status","scope":{userId?,agentId?,runId?},"text",
 *    "speaker","sources":[…],"subject","predicate","object","entities":[…],"metadata":{…},"hash",
 *    "embedder","vector":<base64 float32 LE>|null,"seq","eventAt","validFrom","validTo","supersededBy",
 *    "createdAt","updatedAt"}`, ordered by id;
 * 3. M history lines: `{"type":"history","id","memoryId","event","oldText","newText","sources":[…],
 *    "reason","at"}`, ordered by memory then time.
 * Everything a memory is made of is in the file (vectors included), so SQLite → PostgreSQL → SQLite
 * gives the same rows and the same search results. Import validates every line first and writes
 * all of them in one transaction: a bad line is reported with its number and nothing is written.
 */
import { z } from 'zod';
import { StrataError, type Store } from '../kernel/index.ts';
import { LIMITS } from './limits.ts';
import {
  historyValues,
  INSERT_HISTORY,
  INSERT_ITEM,
  itemValues,
  toHistory,
  toMemory,
  type HistoryRow,
  type ItemRow,
} from './rows.ts';
import { inScope, scopeSchema } from './scope.ts';
import type { Scope } from './types.ts';

const FORMAT = 'strata.memory';
const VERSION = 1;

const header = z
  .object({
    format: z.literal(FORMAT),
    version: z.literal(VERSION),
    exportedAt: z.number(),
    scope: scopeSchema,
    memories: z.number().int().nonnegative(),
    history: z.number().int().nonnegative(),
  })
  .strict();

const ms = z.number().int();
const id = z.string().min(1).max(200);
const memoryLine = z
  .object({
    type: z.literal('memory'),
    id,
    kind: z.enum(['fact', 'message']),
    status: z.enum(['active', 'invalid', 'deleted']),
    scope: scopeSchema,
    text: z
      .string()
      .min(1)
      .max(LIMITS.textChars + 1000),
    speaker: z.string().nullable(),
    sources: z.array(z.string()),
    subject: z.string().nullable(),
    predicate: z.string().nullable(),
    object: z.string().nullable(),
    entities: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
    hash: z.string(),
    embedder: z.string(),
    vector: z.string().nullable(),
    seq: ms,
    eventAt: ms,
    validFrom: ms,
    validTo: ms.nullable(),
    supersededBy: z.string().nullable(),
    createdAt: ms,
    updatedAt: ms,
  })
  .strict();
const historyLine = z
  .object({
    type: z.literal('history'),
    id,
    memoryId: id,
    event: z.enum(['ADD', 'UPDATE', 'DELETE']),
    oldText: z.string().nullable(),
    newText: z.string().nullable(),
    sources: z.array(z.string()),
    reason: z.string(),
    at: ms,
  })
  .strict();

function scopeClause(scope: Scope): { where: string; params: string[] } {
  const where: string[] = [];
  const params: string[] = [];
  for (const [column, value] of [
    ['user_id', scope.userId],
    ['agent_id', scope.agentId],
    ['run_id', scope.runId],
  ] as const) {
    if (value !== undefined) {
      where.push(`i.${column} = ?`);
      params.push(value);
    }
  }
  return { where: where.map((w) => ` AND ${w}`).join(''), params };
}

export async function exportJsonl(
  store: Store,
  options: { tenantId: string; scope: Scope; now: number },
): Promise<string> {
  const { where, params } = scopeClause(options.scope);
  const items = await store.all<ItemRow>(
    `SELECT i.* FROM mem_items i WHERE i.tenant_id = ?${where} ORDER BY i.id`,
    [options.tenantId, ...params],
  );
  const history = await store.all<HistoryRow>(
    `SELECT h.* FROM mem_history h JOIN mem_items i ON i.tenant_id = h.tenant_id AND i.id = h.memory_id
     WHERE h.tenant_id = ?${where} ORDER BY h.memory_id, h.at, h.id`,
    [options.tenantId, ...params],
  );
  const lines = [
    JSON.stringify({
      format: FORMAT,
      version: VERSION,
      exportedAt: options.now,
      scope: options.scope,
      memories: items.length,
      history: history.length,
    }),
  ];
  for (const row of items) {
    const m = toMemory(row);
    lines.push(
      JSON.stringify({
        type: 'memory',
        id: m.id,
        kind: m.kind,
        status: m.status,
        scope: m.scope,
        text: m.text,
        speaker: m.speaker,
        sources: m.sources,
        subject: m.subject,
        predicate: m.predicate,
        object: m.object,
        entities: m.entities,
        metadata: m.metadata,
        hash: row.hash,
        embedder: row.embedder,
        vector: row.vector === null ? null : Buffer.from(row.vector).toString('base64'),
        seq: Number(row.seq),
        eventAt: m.eventAt,
        validFrom: m.validFrom,
        validTo: m.validTo,
        supersededBy: m.supersededBy,
        createdAt: m.createdAt,
        updatedAt: m.updatedAt,
      }),
    );
  }
  for (const row of history) lines.push(JSON.stringify({ type: 'history', ...toHistory(row) }));
  return lines.join('\n') + '\n';
}

export interface ParsedImport {
  readonly items: Omit<ItemRow, 'tenant_id' | 'rev'>[];
  readonly history: Omit<HistoryRow, 'tenant_id'>[];
}

function bad(line: number, message: string): StrataError {
  return new StrataError('E_INVALID_INPUT', `import line ${line}: ${message}`, { line });
}

/** Parses and validates a whole file; throws E_INVALID_INPUT naming the first bad line. */
export function parseJsonl(text: string, scope: Scope): ParsedImport {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw bad(1, 'empty file: expected a strata.memory header');
  if (lines.length > LIMITS.importLines) {
    throw new StrataError('E_PAYLOAD_TOO_LARGE', `more than ${LIMITS.importLines} lines`);
  }
  const parse = <T>(n: number, schema: z.ZodType<T>): T => {
    let value: unknown;
    try {
      value = JSON.parse(lines[n - 1] as string);
    } catch {
      throw bad(n, 'not valid JSON');
    }
    const result = schema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw bad(n, `${issue?.path.join('.') || 'line'}: ${issue?.message ?? 'invalid'}`);
    }
    return result.data;
  };
  const head = parse(1, header);
  const items: ParsedImport['items'] = [];
  const history: ParsedImport['history'] = [];
  const ids = new Set<string>();
  for (let n = 2; n <= lines.length; n++) {
    const type = /"type"\s*:\s*"history"/.test(lines[n - 1] as string) ? 'history' : 'memory';
    if (type === 'memory') {
      const m = parse(n, memoryLine);
      if (!inScope(m.scope, scope)) throw bad(n, `memory ${m.id} is outside the import scope`);
      if (ids.has(m.id)) throw bad(n, `memory ${m.id} appears twice`);
      ids.add(m.id);
      items.push({
        id: m.id,
        kind: m.kind,
        status: m.status,
        user_id: m.scope.userId ?? null,
        agent_id: m.scope.agentId ?? null,
        run_id: m.scope.runId ?? null,
        text: m.text,
        speaker: m.speaker,
        sources: JSON.stringify(m.sources),
        subject: m.subject,
        predicate: m.predicate,
        object: m.object,
        entities: JSON.stringify(m.entities),
        metadata: JSON.stringify(m.metadata),
        hash: m.hash,
        embedder: m.embedder,
        vector: m.vector === null ? null : Buffer.from(m.vector, 'base64'),
        seq: m.seq,
        event_at: m.eventAt,
        valid_from: m.validFrom,
        valid_to: m.validTo,
        superseded_by: m.supersededBy,
        created_at: m.createdAt,
        updated_at: m.updatedAt,
      });
    } else {
      const h = parse(n, historyLine);
      if (!ids.has(h.memoryId)) throw bad(n, `history of ${h.memoryId}, which is not in the file above it`);
      history.push({
        id: h.id,
        memory_id: h.memoryId,
        event: h.event,
        old_text: h.oldText,
        new_text: h.newText,
        sources: JSON.stringify(h.sources),
        reason: h.reason,
        at: h.at,
      });
    }
  }
  if (items.length !== head.memories || history.length !== head.history) {
    throw bad(
      lines.length,
      `the header announces ${head.memories} memories and ${head.history} history entries; the file has ${items.length} and ${history.length} (truncated?)`,
    );
  }
  return { items, history };
}

export async function importRows(
  store: Store,
  options: {
    tenantId: string;
    parsed: ParsedImport;
    bumpRev: (tx: Parameters<Parameters<Store['transaction']>[0]>[0]) => Promise<number>;
  },
): Promise<{ memories: number; history: number }> {
  const { tenantId, parsed } = options;
  await store.transaction(async (tx) => {
    const rev = await options.bumpRev(tx);
    for (const item of parsed.items)
      await tx.run(INSERT_ITEM, itemValues({ ...item, tenant_id: tenantId, rev }));
    for (const h of parsed.history)
      await tx.run(INSERT_HISTORY, historyValues({ ...h, tenant_id: tenantId }));
  });
  return { memories: parsed.items.length, history: parsed.history.length };
}
