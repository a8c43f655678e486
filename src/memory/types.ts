/**
 * @module memory/types
 * Glossary
 * - **Scope**: who a memory belongs to inside a tenant — any combination of `userId`, `agentId`
 *   and `runId`. The tenant always comes from the caller's principal, never from input, so no call
 *   crosses tenants. On writes, an absent field means "none"; on reads, "any" (so a read scoped to
 *   `{ userId: 'u1' }` sees u1's memories of every agent, which needs a capability for every agent).
 * - **Memory**: one item. `kind: 'fact'` is a statement kept and maintained (extracted, or given
 *   verbatim with `infer: false`); `kind: 'message'` is a raw conversation message kept with
 *   `infer: true` for fallback retrieval and as the source that facts cite.
 * - **Validity**: facts have `validFrom`/`validTo`. A contradicted fact is not destroyed: its
 *   `validTo` is set, its status becomes `invalid`, `supersededBy` names the newer fact, and its
 *   history keeps every version. `delete` marks a memory `deleted` (history kept).
 * - **Event**: what a write did to a memory — `ADD`, `UPDATE`, `DELETE` (invalidation or deletion)
 *   or `NOOP` (the fact was already known).
 * - **Slot**: for single-valued facts ("Alice lives in Paris"), `subject` + `predicate`, whose
 *   `object` may change over time. Two active facts never share a slot: the newer one supersedes.
 */

export interface Scope {
  readonly userId?: string;
  readonly agentId?: string;
  readonly runId?: string;
}

export type MemoryKind = 'fact' | 'message';
export type MemoryStatus = 'active' | 'invalid' | 'deleted';
export type MemoryEvent = 'ADD' | 'UPDATE' | 'DELETE' | 'NOOP';

export interface Memory {
  readonly id: string;
  readonly kind: MemoryKind;
  readonly text: string;
  readonly scope: Scope;
  readonly status: MemoryStatus;
  /** Who said it (message) or who it is about (fact), when known. */
  readonly speaker: string | null;
  /** For messages: the caller's message id (or a generated one). For facts: the messages it came from. */
  readonly sources: readonly string[];
  readonly subject: string | null;
  readonly predicate: string | null;
  readonly object: string | null;
  readonly entities: readonly string[];
  readonly metadata: Record<string, unknown>;
  /** When the source message was said (epoch ms). */
  readonly eventAt: number;
  readonly validFrom: number;
  readonly validTo: number | null;
  readonly supersededBy: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface HistoryEntry {
  readonly id: string;
  readonly memoryId: string;
  readonly event: Exclude<MemoryEvent, 'NOOP'>;
  readonly oldText: string | null;
  readonly newText: string | null;
  readonly sources: readonly string[];
  readonly reason: string;
  readonly at: number;
}

export interface MessageInput {
  readonly role?: 'user' | 'assistant' | 'system' | 'tool';
  /** The speaker's name; falls back to the role. */
  readonly name?: string;
  readonly content: string;
  /** The caller's id for this message (kept as a source id). */
  readonly id?: string;
  /** When it was said (epoch ms or ISO 8601); defaults to now. */
  readonly at?: number | string;
}

export interface AddOptions {
  readonly metadata?: Record<string, unknown>;
  /** Extract facts and reconcile them with what is known. @default true */
  readonly infer?: boolean;
}

export interface AddResultItem {
  readonly event: MemoryEvent;
  readonly id: string;
  readonly text: string;
  readonly previousText?: string;
  readonly reason: string;
}

export interface AddResult {
  readonly results: readonly AddResultItem[];
  /** Raw messages stored (infer: true). */
  readonly messages: readonly string[];
  /** `offline` or `model`. */
  readonly extractor: string;
}

export interface SearchFilters {
  readonly kind?: MemoryKind;
  /** Top-level metadata fields that must equal these values. */
  readonly metadata?: Record<string, string | number | boolean>;
  /** Include invalidated facts. @default false */
  readonly includeInvalid?: boolean;
  /** Only facts valid at this instant (epoch ms): time travel over the validity intervals. */
  readonly asOf?: number;
}

export interface SearchOptions {
  /** @default 10 */
  readonly k?: number;
  readonly filters?: SearchFilters;
  /** Drop hits whose fused score is below this. @default 0 */
  readonly minScore?: number;
  /** Attach the next N messages of the conversation to each hit as context. @default 0 */
  readonly neighbors?: number;
  /** Aborts the search (the syscall's `ctx.signal`). */
  readonly signal?: AbortSignal;
  /** The search's deadline; past it, E_SYSCALL_TIMEOUT (retryable). Unset: none of its own. */
  readonly timeoutMs?: number;
}

export interface SignalExplanation {
  readonly rank: number;
  readonly score: number;
}

export interface Hit {
  readonly memory: Memory;
  /** Reciprocal-rank fusion score (see README: weights per signal). */
  readonly score: number;
  /** Which signals matched, with the hit's rank and raw score in each. */
  readonly signals: {
    readonly text?: SignalExplanation & { readonly terms: readonly string[] };
    readonly vector?: SignalExplanation;
    readonly entity?: SignalExplanation & { readonly entities: readonly string[] };
    readonly recency?: SignalExplanation;
    readonly graph?: SignalExplanation & { readonly relation: string };
  };
  /** Following messages (when `neighbors` > 0). */
  readonly context: readonly Memory[];
}
