/**
 * @module mergequeue/rows
 * The merge queue's rows as the rest of the layer sees them, and their mapping from SQL rows (the
 * same on both dialects: JSON in TEXT columns, booleans as 0/1, BIGINT read back as numbers).
 */
import type { NetworkPolicy } from '../compute/index.ts';
import type { RemoteAuth } from './remote.ts';
import type { EntryState } from './types.ts';

export interface QueueRow {
  readonly id: string;
  readonly repository: string;
  readonly target: string;
  readonly checkCommand: string;
  readonly checkTimeoutMs: number;
  readonly runtimes: readonly string[];
  readonly batch: { readonly min: number; readonly max: number };
  readonly paused: boolean;
  readonly mainVersion: number;
  readonly mainCommit: string;
  readonly fence: number;
  /** What the check may reach: `none`, or `host:port` entries through the sandbox egress proxy. */
  readonly network: NetworkPolicy;
  /** Set when the queue's worker stopped on an error; only an explicit resume clears it. */
  readonly stopped: StopInfo | null;
  /** A remote repository's credentials: the vault connection named, never the secret. */
  readonly auth: RemoteAuth | null;
  readonly createdAt: number;
}

export interface StopInfo {
  readonly code: string;
  readonly reason: string;
  readonly at: number;
}

export interface EntryRow {
  readonly id: string;
  readonly queue: string;
  readonly seq: number;
  readonly author: string;
  readonly branch: string;
  readonly headCommit: string;
  readonly priority: number;
  readonly dependsOn: readonly string[];
  readonly state: EntryState;
  readonly reason: string;
  readonly files: readonly string[];
  /** Other queued entries touching the same files when this one was submitted (early warning). */
  readonly overlaps: readonly { readonly entry: string; readonly files: readonly string[] }[];
  readonly conflictFiles: readonly string[] | null;
  readonly failedCheck: string | null;
  readonly mergedCommit: string | null;
  readonly checks: number;
  readonly checkMs: number;
  readonly createdAt: number;
  readonly finishedAt: number | null;
}

export interface CheckRow {
  readonly id: string;
  readonly purpose: string;
  readonly tree: readonly string[];
  readonly version: number;
  readonly commit: string | null;
  readonly outcome: 'pass' | 'fail' | null;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly log: string | null;
  readonly startedAt: number;
  readonly durationMs: number | null;
}

type Raw = Record<string, unknown>;
export const num = (v: unknown): number => Number(v);
export const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export const queueOf = (r: Raw): QueueRow => ({
  id: String(r['id']),
  repository: String(r['repository']),
  target: String(r['target']),
  checkCommand: String(r['check_command']),
  checkTimeoutMs: num(r['check_timeout_ms']),
  runtimes: json<string[]>(r['runtimes']),
  batch: { min: num(r['batch_min']), max: num(r['batch_max']) },
  paused: num(r['paused']) === 1,
  mainVersion: num(r['main_version']),
  mainCommit: String(r['main_commit']),
  fence: num(r['fence']),
  network: json<NetworkPolicy>(r['check_network']),
  stopped:
    r['stopped_code'] == null
      ? null
      : {
          code: text(r['stopped_code']) ?? '',
          reason: text(r['stopped_reason']) ?? '',
          at: num(r['stopped_at']),
        },
  auth: r['remote_auth'] == null ? null : json<RemoteAuth>(r['remote_auth']),
  createdAt: num(r['created_at']),
});

export const entryOf = (r: Raw): EntryRow => ({
  id: String(r['id']),
  queue: String(r['queue_id']),
  seq: num(r['seq']),
  author: String(r['author']),
  branch: String(r['branch']),
  headCommit: String(r['head_commit']),
  priority: num(r['priority']),
  dependsOn: json<string[]>(r['depends_on']),
  state: String(r['state']) as EntryState,
  reason: String(r['reason']),
  files: json<string[]>(r['files']),
  overlaps: json<EntryRow['overlaps']>(r['overlap_warnings']),
  conflictFiles: r['conflict_files'] == null ? null : json<string[]>(r['conflict_files']),
  failedCheck: text(r['failed_check']),
  mergedCommit: text(r['merged_commit']),
  checks: num(r['checks']),
  checkMs: num(r['check_ms']),
  createdAt: num(r['created_at']),
  finishedAt: r['finished_at'] == null ? null : num(r['finished_at']),
});

export const checkOf = (r: Raw): CheckRow => ({
  id: String(r['id']),
  purpose: String(r['purpose']),
  tree: json<string[]>(r['tree']),
  version: num(r['version']),
  commit: text(r['commit_sha']),
  outcome: text(r['outcome']) as 'pass' | 'fail' | null,
  exitCode: r['exit_code'] == null ? null : num(r['exit_code']),
  timedOut: num(r['timed_out']) === 1,
  log: text(r['log']),
  startedAt: num(r['started_at']),
  durationMs: r['duration_ms'] == null ? null : num(r['duration_ms']),
});
