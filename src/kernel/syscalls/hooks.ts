/**
 * @module kernel/syscalls/hooks
 * The pipeline's extension points that later layers fill: the budget (provisioning and billing),
 * the journal (durable runs) and the meter (usage and cost). Each has a null object so the kernel
 * works alone; a layer replaces it at kernel construction.
 */
import type { Principal } from '../auth/principal.ts';

export interface BudgetRequest {
  readonly principal: Principal;
  readonly syscall: string;
  readonly resource: string;
  readonly estimateMicros: number;
  readonly runId?: string;
  /** The root of the run's tree, for budgets on a whole run tree. */
  readonly rootRunId?: string;
  /** The run tree's project label, for budgets on a project. */
  readonly project?: string;
}

/** A hold on budget made before a call; committed with the actual cost or released on failure. */
export interface BudgetReservation {
  readonly id: string;
}

export interface BudgetHook {
  /** Holds the estimate or throws `E_BUDGET_EXCEEDED`. `null` means nothing to hold. */
  reserve(request: BudgetRequest): Promise<BudgetReservation | null>;
  commit(reservation: BudgetReservation, actualMicros: number): Promise<void>;
  release(reservation: BudgetReservation, reason: string): Promise<void>;
}

/** Identifies one syscall inside a durable run: replay looks it up instead of executing again. */
export interface JournalRef {
  readonly runId: string;
  /** Position of the call in the run (e.g. `"7:compute.exec"`). */
  readonly stepKey: string;
}

export interface JournalHook {
  /** The recorded output of an earlier execution, if any. */
  recall(ref: JournalRef): Promise<{ readonly output: unknown } | undefined>;
  /** Records the output before the run moves on. */
  record(ref: JournalRef, output: unknown): Promise<void>;
}

/** Where a call made by a durable run sits in its run tree (cost per task); set by the engine. */
export interface RunAttribution {
  readonly rootId: string;
  /** The run's attempt (1, 2 …) when the call was made. */
  readonly attempt: number;
  readonly project?: string;
}

/** What a call used, as its definition's `usageLabels` reports it (e.g. the model that answered). */
export interface UsageLabels {
  readonly model?: string;
  readonly tool?: string;
  /** The price the cost was computed from (e.g. a digest of a model's price entry). */
  readonly priceVersion?: string;
}

export interface MeterRecord {
  readonly tenantId: string;
  readonly principalId: string;
  readonly principalKind?: 'api_key' | 'agent';
  readonly syscall: string;
  readonly resource: string;
  readonly costMicros: number;
  readonly durationUs: number;
  readonly ok: boolean;
  readonly runId?: string;
  /** A run's calls carry `<runId>:<journal seq>`. */
  readonly idempotencyKey?: string;
  readonly attribution?: RunAttribution;
  readonly labels?: UsageLabels;
}

export interface MeterHook {
  record(record: MeterRecord): void | Promise<void>;
}

export const noBudget: BudgetHook = {
  reserve: () => Promise.resolve(null),
  commit: () => Promise.resolve(),
  release: () => Promise.resolve(),
};

export const noJournal: JournalHook = {
  recall: () => Promise.resolve(undefined),
  record: () => Promise.resolve(),
};

export const noMeter: MeterHook = { record: () => undefined };
