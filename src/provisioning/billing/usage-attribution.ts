/**
 * @module provisioning/billing/usage-attribution
 * The attribution of a `syscall.cost` event (cost per task): which tenant, project, run tree, run,
 * journal step, run attempt, agent, model, tool and price version a metered call is for. The kernel
 * meter hook fills it from the pipeline's meter record; it is stored beside the event (nullable
 * columns, see migration 2) and is not part of the event's payload hash, so an event sent again
 * with other labels is still a duplicate, not a conflict.
 */
import type { MeterRecord } from '../../kernel/syscalls/hooks.ts';

const TEXT_MAX = 200;

export interface UsageAttribution {
  readonly syscall: string;
  readonly principalId: string;
  /** The principal when it is an agent identity; null for API keys. */
  readonly agentId: string | null;
  readonly project: string | null;
  readonly rootId: string | null;
  readonly runId: string | null;
  /** Journal position of the call in its run (`<runId>:<seq>` idempotency keys). */
  readonly stepSeq: number | null;
  readonly attempt: number | null;
  readonly model: string | null;
  readonly tool: string | null;
  readonly priceVersion: string | null;
}

const clip = (text: string | undefined): string | null =>
  text === undefined || text === '' ? null : text.slice(0, TEXT_MAX);

/** The journal seq of a run's call: its idempotency key is `<runId>:<seq>`. */
function stepOf(record: MeterRecord): number | null {
  const { runId, idempotencyKey } = record;
  if (!runId || !idempotencyKey?.startsWith(`${runId}:`)) return null;
  const seq = Number(idempotencyKey.slice(runId.length + 1));
  return Number.isSafeInteger(seq) && seq >= 0 ? seq : null;
}

export function attributionOf(record: MeterRecord): UsageAttribution {
  const run = record.attribution;
  return {
    syscall: record.syscall,
    principalId: record.principalId,
    agentId: record.principalKind === 'agent' ? record.principalId : null,
    project: clip(run?.project),
    rootId: record.runId ? (run?.rootId ?? record.runId) : null,
    runId: clip(record.runId),
    stepSeq: stepOf(record),
    attempt: run?.attempt ?? null,
    model: clip(record.labels?.model),
    tool: clip(record.labels?.tool),
    priceVersion: clip(record.labels?.priceVersion),
  };
}

/** Column names and values, in the order the INSERT lists them. */
export const ATTRIBUTION_COLUMNS =
  'syscall, principal_id, agent_id, project, root_id, run_id, step_seq, attempt, model, tool, price_version';

export function attributionValues(a: UsageAttribution | undefined): (string | number | null)[] {
  if (!a) return [null, null, null, null, null, null, null, null, null, null, null];
  return [
    a.syscall,
    a.principalId,
    a.agentId,
    a.project,
    a.rootId,
    a.runId,
    a.stepSeq,
    a.attempt,
    a.model,
    a.tool,
    a.priceVersion,
  ];
}
