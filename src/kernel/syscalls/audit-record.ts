/**
 * @module kernel/syscalls/audit-record
 * What the pipeline writes into a call's audit entry besides who, what and how it ended: the input
 * (secret fields already redacted, URL credentials masked, a digest when large), the definition's
 * summary of the result, and the durable run the entry belongs to.
 */
import { createHash } from 'node:crypto';
import type { AuditRun, SyscallDefinition } from './define.ts';
import type { RunAttribution } from './hooks.ts';
import { maskUrlCredentials } from './redact.ts';

/** Largest redacted input kept verbatim in an audit entry; larger ones are kept as a digest. */
const AUDIT_DETAIL_LIMIT = 4096;

export function auditDetail(input: unknown, result?: unknown): Record<string, unknown> {
  const raw = JSON.stringify(input ?? null);
  const text = maskUrlCredentials(raw);
  const redacted: unknown = text === raw ? input : JSON.parse(text);
  const detail: Record<string, unknown> =
    text.length <= AUDIT_DETAIL_LIMIT
      ? { input: redacted ?? null }
      : { inputSha256: createHash('sha256').update(text).digest('hex'), inputBytes: text.length };
  if (result !== undefined) detail['result'] = result;
  return detail;
}

/** The definition's audit summary of a result; a failing summarizer must not fail the call. */
export function auditResultOf(
  definition: { auditResult?: (input: unknown, output: unknown) => unknown },
  input: unknown,
  output: unknown,
): unknown {
  if (!definition.auditResult) return undefined;
  try {
    return definition.auditResult(input, output);
  } catch {
    return { auditResultError: true };
  }
}

/**
 * The run an entry belongs to: the run the call was made in (the engine passes it with every call
 * of a durable run), else the run the definition says the call acts on. Empty when neither: an
 * entry's run fields are left out, not null, so it hashes as entries did before runs were recorded.
 */
export function auditRunOf(
  call: { readonly runId?: string; readonly attribution?: RunAttribution },
  definition: Pick<SyscallDefinition, 'auditRun'>,
  input: unknown,
  output?: unknown,
): Partial<AuditRun> {
  if (call.runId !== undefined)
    return call.attribution
      ? { runId: call.runId, rootRunId: call.attribution.rootId }
      : { runId: call.runId };
  if (!definition.auditRun || input === undefined) return {};
  try {
    const run = definition.auditRun(input, output);
    if (run === undefined) return {};
    return run.rootRunId === undefined
      ? { runId: run.runId }
      : { runId: run.runId, rootRunId: run.rootRunId };
  } catch {
    return {}; // like auditResult: naming the run must never fail the call
  }
}
