/**
 * Glossary
 * - **Approval**: a question a run asks (`ctx.approve`) and waits for, durably; decided once, by
 *   an approver, through the API/CLI (`approvals.decide`) or an email reply, or by its timeout.
 * - **Approvers**: who may decide (see approvers.ts): principal ids, `agent:<name>`, `role:<x>`,
 *   `mail:<address>`; an empty list means anyone allowed to call `approvals.decide` on it.
 * - **onTimeout**: what the timeout does: `reject`, `approve`, or `escalate` (raise a P1
 *   escalation and keep waiting, without a deadline, for a person to decide).
 * - **Signature**: the canonical decision signed by the approver agent's identity key (Ed25519)
 *   when it has one, else an HMAC-SHA256 under a key derived from the node's master key.
 */
import { z } from 'zod';

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export const ON_TIMEOUT = ['reject', 'approve', 'escalate'] as const;
export type OnTimeout = (typeof ON_TIMEOUT)[number];
export type DecidedVia = 'api' | 'mail' | 'timeout';

export type ApprovalRow = {
  id: string;
  tenant_id: string;
  request_key: string;
  run_id: string;
  workflow: string;
  question: string;
  schema: string | null;
  approvers: string;
  mailbox: string | null;
  on_timeout: OnTimeout;
  timeout_at: number | string | null;
  status: ApprovalStatus;
  decided_by: string | null;
  decided_via: DecidedVia | null;
  reason: string | null;
  value: string | null;
  signature: string | null;
  signed_with: string | null;
  escalated_at: number | string | null;
  created_at: number | string;
  decided_at: number | string | null;
};

export const approvalSchema = z.object({
  id: z.string(),
  runId: z.string(),
  workflow: z.string(),
  question: z.string(),
  schema: z.record(z.string(), z.unknown()).nullable(),
  approvers: z.array(z.string()),
  mailbox: z.string().nullable(),
  onTimeout: z.enum(ON_TIMEOUT),
  timeoutAt: z.number().nullable(),
  status: z.enum(APPROVAL_STATUSES),
  decidedBy: z.string().nullable(),
  decidedVia: z.enum(['api', 'mail', 'timeout']).nullable(),
  reason: z.string().nullable(),
  value: z.unknown().optional(),
  signature: z.string().nullable(),
  signedWith: z.string().nullable(),
  escalatedAt: z.number().nullable(),
  createdAt: z.number(),
  decidedAt: z.number().nullable(),
});
export type Approval = z.infer<typeof approvalSchema>;

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

export const toApproval = (r: ApprovalRow): Approval => ({
  id: r.id,
  runId: r.run_id,
  workflow: r.workflow,
  question: r.question,
  schema: r.schema === null ? null : (JSON.parse(r.schema) as Record<string, unknown>),
  approvers: JSON.parse(r.approvers) as string[],
  mailbox: r.mailbox,
  onTimeout: r.on_timeout,
  timeoutAt: num(r.timeout_at),
  status: r.status,
  decidedBy: r.decided_by,
  decidedVia: r.decided_via,
  reason: r.reason,
  ...(r.value === null ? {} : { value: JSON.parse(r.value) as unknown }),
  signature: r.signature,
  signedWith: r.signed_with,
  escalatedAt: num(r.escalated_at),
  createdAt: Number(r.created_at),
  decidedAt: num(r.decided_at),
});

/** The signal a decided approval sends its run (`ctx.waitFor`). */
export const approvalSignal = (id: string): string => `approval:${id}`;

/** The subject of the request mail; replies keep it ("Re: …"), which is how a reply is matched. */
export const approvalSubject = (id: string, question: string): string =>
  `[approval ${id}] ${question.replace(/[\r\n]+/g, ' ').slice(0, 200)}`;
export const APPROVAL_SUBJECT_ID = /\[approval (apr_[0-9A-Za-z]+)\]/;
