/**
 * @module orchestration/timeline
 * Runs and journals as the run API's surfaces (syscalls, HTTP, CLI) return them: zod schemas for a
 * {@link Run} and for a run's timeline, and the conversion of stored journal rows into timeline
 * entries — JSON parsed, times named, durations computed — so no client re-implements it.
 */
import { z } from 'zod';
import type { JournalKind, JournalRow, RunError, RunStatus } from './run-row.ts';

// `satisfies` keeps these lists in step with the stored types at compile time.
const RUN_STATUSES = [
  'queued',
  'running',
  'waiting',
  'completed',
  'failed',
  'cancelled',
  'version_unavailable',
] as const satisfies readonly RunStatus[];
const JOURNAL_KINDS = [
  'step',
  'tx',
  'syscall',
  'sleep',
  'signal',
  'child',
  'join',
  'now',
  'random',
  'exit',
  'patch',
] as const satisfies readonly JournalKind[];

export const runStatusSchema = z.enum(RUN_STATUSES);

const runErrorSchema = z.object({ code: z.string(), message: z.string() });

/** The shape of {@link Run}; every field is kept by the pipeline's output validation. */
export const runSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  workflow: z.string(),
  version: z.number().int(),
  queue: z.string(),
  priority: z.number().int(),
  status: runStatusSchema,
  input: z.unknown(),
  output: z.unknown().optional(),
  error: runErrorSchema.optional(),
  parentId: z.string().nullable(),
  rootId: z.string(),
  idempotencyKey: z.string().nullable(),
  attempt: z.number().int(),
  maxAttempts: z.number().int(),
  availableAt: z.number().nullable(),
  leaseOwner: z.string().nullable(),
  cancelRequested: z.boolean(),
  costMicros: z.number(),
  createdAt: z.number(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
});

/** One journal entry: a step, a syscall, a timer, a signal wait, a child started or joined. */
export interface TimelineEntry {
  readonly seq: number;
  readonly kind: JournalKind;
  readonly name: string;
  /** `pending`: a timer or wait not yet over (or a step interrupted mid-flight). */
  readonly status: JournalRow['status'];
  readonly output?: unknown;
  readonly error?: RunError;
  /** When a pending timer or wait deadline falls due (epoch ms). */
  readonly wakeAt: number | null;
  readonly attempts: number;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly durationMs: number | null;
}

export const timelineEntrySchema = z.object({
  seq: z.number().int(),
  kind: z.enum(JOURNAL_KINDS),
  name: z.string(),
  status: z.enum(['ok', 'error', 'pending']),
  output: z.unknown().optional(),
  error: runErrorSchema.optional(),
  wakeAt: z.number().nullable(),
  attempts: z.number().int(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  durationMs: z.number().nullable(),
});

function parsed(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // written by this engine as JSON; a hand-edited row is shown as it is
  }
}

function errorOf(text: string | null): RunError | undefined {
  const value = parsed(text);
  if (typeof value !== 'object' || value === null) return undefined;
  const { code, message } = value as Partial<RunError>;
  return { code: String(code ?? 'E_INTERNAL'), message: String(message ?? '') };
}

export function toTimelineEntry(row: JournalRow): TimelineEntry {
  const output = row.status === 'ok' ? parsed(row.output) : undefined;
  const error = row.status === 'error' ? errorOf(row.error) : undefined;
  return {
    seq: row.seq,
    kind: row.kind,
    name: row.name,
    status: row.status,
    ...(output === undefined ? {} : { output }),
    ...(error === undefined ? {} : { error }),
    wakeAt: row.wake_at,
    attempts: row.attempts,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.finished_at === null ? null : row.finished_at - row.started_at,
  };
}
