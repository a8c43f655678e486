/**
 * @module memory/rows
 * Row types of the memory tables and their mapping to {@link Memory} / {@link HistoryEntry}.
 */
import type { SqlValue } from '../kernel/index.ts';
import type { HistoryEntry, Memory, MemoryKind, MemoryStatus } from './types.ts';

export type ItemRow = {
  tenant_id: string;
  id: string;
  kind: string;
  status: string;
  user_id: string | null;
  agent_id: string | null;
  run_id: string | null;
  text: string;
  speaker: string | null;
  sources: string;
  subject: string | null;
  predicate: string | null;
  object: string | null;
  entities: string;
  metadata: string;
  hash: string;
  embedder: string;
  vector: Buffer | Uint8Array | null;
  seq: number;
  event_at: number;
  valid_from: number;
  valid_to: number | null;
  superseded_by: string | null;
  created_at: number;
  updated_at: number;
  rev: number;
};

export type HistoryRow = {
  tenant_id: string;
  id: string;
  memory_id: string;
  event: string;
  old_text: string | null;
  new_text: string | null;
  sources: string;
  reason: string;
  at: number;
};

export const ITEM_COLUMNS = [
  'tenant_id',
  'id',
  'kind',
  'status',
  'user_id',
  'agent_id',
  'run_id',
  'text',
  'speaker',
  'sources',
  'subject',
  'predicate',
  'object',
  'entities',
  'metadata',
  'hash',
  'embedder',
  'vector',
  'seq',
  'event_at',
  'valid_from',
  'valid_to',
  'superseded_by',
  'created_at',
  'updated_at',
  'rev',
] as const;

export const INSERT_ITEM = `INSERT INTO mem_items (${ITEM_COLUMNS.join(', ')}) VALUES (${ITEM_COLUMNS.map(() => '?').join(', ')})`;

export function itemValues(row: ItemRow): SqlValue[] {
  return ITEM_COLUMNS.map((c) => row[c]);
}

export const INSERT_HISTORY =
  'INSERT INTO mem_history (tenant_id, id, memory_id, event, old_text, new_text, sources, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

export function historyValues(row: HistoryRow): SqlValue[] {
  return [
    row.tenant_id,
    row.id,
    row.memory_id,
    row.event,
    row.old_text,
    row.new_text,
    row.sources,
    row.reason,
    row.at,
  ];
}

export function toMemory(row: ItemRow): Memory {
  const scope: { userId?: string; agentId?: string; runId?: string } = {};
  if (row.user_id !== null) scope.userId = row.user_id;
  if (row.agent_id !== null) scope.agentId = row.agent_id;
  if (row.run_id !== null) scope.runId = row.run_id;
  return {
    id: row.id,
    kind: row.kind as MemoryKind,
    text: row.text,
    scope,
    status: row.status as MemoryStatus,
    speaker: row.speaker,
    sources: JSON.parse(row.sources) as string[],
    subject: row.subject,
    predicate: row.predicate,
    object: row.object,
    entities: JSON.parse(row.entities) as string[],
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    eventAt: Number(row.event_at),
    validFrom: Number(row.valid_from),
    validTo: row.valid_to === null ? null : Number(row.valid_to),
    supersededBy: row.superseded_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function toHistory(row: HistoryRow): HistoryEntry {
  return {
    id: row.id,
    memoryId: row.memory_id,
    event: row.event as HistoryEntry['event'],
    oldText: row.old_text,
    newText: row.new_text,
    sources: JSON.parse(row.sources) as string[],
    reason: row.reason,
    at: Number(row.at),
  };
}
