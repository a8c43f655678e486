/**
 * @module orchestration/journal-entry
 * Building journal rows, and turning a journaled error back into the error the first execution
 * threw, so replay behaves exactly like the original run.
 */
import { StrataError, isStrataError } from '../kernel/index.ts';
import type { JournalKind, JournalRow } from './run-row.ts';

export type Entry = Omit<JournalRow, 'run_id'>;

export interface EntryFields {
  seq: number;
  kind: JournalKind;
  name: string;
  attempts: number;
  started: number;
  finished: number;
}

export function okEntry({
  seq,
  kind,
  name,
  value,
  attempts,
  started,
  finished,
}: EntryFields & { value: unknown }): Omit<JournalRow, 'run_id'> {
  return {
    seq,
    kind,
    name,
    status: 'ok',
    output: JSON.stringify(value ?? null),
    error: null,
    wake_at: null,
    attempts,
    started_at: started,
    finished_at: finished,
  };
}

export function errorEntry({
  seq,
  kind,
  name,
  error,
  attempts,
  started,
  finished,
}: EntryFields & { error: unknown }): Omit<JournalRow, 'run_id'> {
  return {
    seq,
    kind,
    name,
    status: 'error',
    output: null,
    error: JSON.stringify(journaledError(error)),
    wake_at: null,
    attempts,
    started_at: started,
    finished_at: finished,
  };
}

/**
 * A transient store failure (deadlock, serialization failure, too many connections, a dropped
 * connection) says nothing about the step or the workflow, so it is never journaled: the run is
 * left to its lease and resumed by replay, without spending an attempt. Journaled, it would become
 * the step's permanent outcome and fail the run on replay.
 */
export function isTransientStoreError(error: unknown): boolean {
  return isStrataError(error) && error.code === 'E_STORE' && error.retryable;
}

export function serializeError(error: unknown): { code: string; message: string } {
  if (error instanceof StrataError) return { code: error.code, message: error.message };
  return { code: 'E_STEP_FAILED', message: error instanceof Error ? error.message : String(error) };
}

/** Largest error data kept in a journal entry (the pipeline already scrubbed it of secrets). */
const JOURNALED_DATA_LIMIT = 2048;

/** An error as journaled: code, message and, when small, its data (e.g. which budget refused). */
function journaledError(error: unknown): { code: string; message: string; data?: unknown } {
  const plain = serializeError(error);
  if (!(error instanceof StrataError) || error.data === undefined) return plain;
  const data = JSON.stringify(error.data);
  return data.length <= JOURNALED_DATA_LIMIT ? { ...plain, data: error.data } : plain;
}

/** Rebuilds a journaled error so replay throws what the first execution threw. */
export function rebuild(serialized: string | null): Error {
  const { code, message, data } = JSON.parse(serialized ?? '{}') as {
    code?: string;
    message?: string;
    data?: unknown;
  };
  if (code && code !== 'E_STEP_FAILED' && code.startsWith('E_')) {
    return new StrataError(code as 'E_INTERNAL', message ?? code, data);
  }
  return new Error(message ?? 'step failed');
}
