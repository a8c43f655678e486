/**
 * Glossary
 * - **Escalation**: an item that asks a human (or an on-call agent) to look at something: a
 *   supervisor that gave up, a budget exhausted, a run dead-lettered, an approval nobody answered.
 * - **Severity**: P0 (page now) · P1 · P2 (look today). Stored as 0–2 so "more severe" is "lower".
 * - **Dedup key**: raising a key that already has an open (or acked) item adds to its `count`
 *   instead of opening another, so a flapping source makes one item, not a flood.
 * - **Bump**: an open item nobody acked within the tenant's stale threshold is re-escalated one
 *   severity up (P2 → P1 → P0; a P0 is re-sent) and notified again.
 * - **Route**: per tenant, who is on call and through which channel (mail, webhook, none).
 */
import { z } from 'zod';

export const SEVERITIES = ['P0', 'P1', 'P2'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severitySchema = z.enum(SEVERITIES);
export const ESCALATION_STATUSES = ['open', 'acked', 'resolved'] as const;
export type EscalationStatus = (typeof ESCALATION_STATUSES)[number];

export const severityRank = (severity: Severity): number => SEVERITIES.indexOf(severity);
const severityOf = (rank: number): Severity => SEVERITIES[Math.max(0, Math.min(2, rank))] ?? 'P0';

export type EscalationRow = {
  id: string;
  tenant_id: string;
  dedup_key: string;
  severity: number;
  title: string;
  detail: string | null;
  source: string;
  status: EscalationStatus;
  count: number | string;
  bumps: number | string;
  first_at: number | string;
  last_at: number | string;
  escalated_at: number | string;
  acked_by: string | null;
  acked_at: number | string | null;
  resolved_by: string | null;
  resolved_at: number | string | null;
};

export const escalationSchema = z.object({
  id: z.string(),
  key: z.string(),
  severity: severitySchema,
  title: z.string(),
  detail: z.string().nullable(),
  source: z.string(),
  status: z.enum(ESCALATION_STATUSES),
  count: z.number(),
  bumps: z.number(),
  firstAt: z.number(),
  lastAt: z.number(),
  escalatedAt: z.number(),
  ackedBy: z.string().nullable(),
  ackedAt: z.number().nullable(),
  resolvedBy: z.string().nullable(),
  resolvedAt: z.number().nullable(),
});
export type Escalation = z.infer<typeof escalationSchema>;

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

/** BIGINT columns come back as strings from PostgreSQL; every number is converted here. */
export const toEscalation = (r: EscalationRow): Escalation => ({
  id: r.id,
  key: r.dedup_key,
  severity: severityOf(Number(r.severity)),
  title: r.title,
  detail: r.detail,
  source: r.source,
  status: r.status,
  count: Number(r.count),
  bumps: Number(r.bumps),
  firstAt: Number(r.first_at),
  lastAt: Number(r.last_at),
  escalatedAt: Number(r.escalated_at),
  ackedBy: r.acked_by,
  ackedAt: num(r.acked_at),
  resolvedBy: r.resolved_by,
  resolvedAt: num(r.resolved_at),
});

export const routeSchema = z
  .object({
    /** `mail`: sent from `mailbox` to `target` (an address); `webhook`: stored URL; `none`. */
    channel: z.enum(['mail', 'webhook', 'none']),
    target: z.string().min(1).max(2000).optional(),
    mailbox: z.string().min(3).max(320).optional(),
    /** Who is on call (principal ids, agent names, people): shown in every notification. */
    who: z.array(z.string().min(1).max(200)).max(50).default([]),
    /** Open, unacked items are bumped one severity after this long. @default 30 minutes */
    staleAfterMs: z
      .number()
      .int()
      .min(1)
      .max(30 * 24 * 3600 * 1000)
      .default(30 * 60 * 1000),
  })
  .strict();
export type Route = z.infer<typeof routeSchema>;
export const DEFAULT_STALE_AFTER_MS = 30 * 60 * 1000;
