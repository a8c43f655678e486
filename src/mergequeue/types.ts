/**
 * @module mergequeue/types
 * The merge queue's vocabulary, shared by the pure engine, the store and the git driver.
 *
 * Glossary
 * - **Queue**: one per (repository, target branch). Changes wait in it, are tested, and move the
 *   target branch ("main") forward only to a tree that passed its check.
 * - **Entry**: one submitted change (a branch or a patch) with its author, priority and the other
 *   entries it depends on. Its state follows {@link ENTRY_TRANSITIONS}; every move has a reason.
 * - **Main version**: a counter bumped on every advance of main; version `v` names the tree main
 *   held after its `v`-th advance. The git driver maps versions to commits.
 * - **Batch / slot**: changes tested together as one check; its size adapts to the culprit rate
 *   within the queue's `{min, max}` (`batching.ts`). Slots form a speculative pipeline
 *   (Zuul's dependent pipeline): slot `k` is tested on main plus every slot ahead of it, so when
 *   slot `k` passes, main may jump straight to its tree.
 * - **Window**: how many changes may be under test in the pipeline at once; adaptive (starts at
 *   20, floor 3, +1 per merged change, halved per confirmed failure).
 * - **Flake retry**: a failing check is run once more on the same tree before anyone is blamed.
 * - **Bisection**: a batch that failed twice leaves the pipeline and is split against the main
 *   version it failed on, until the culprit is alone; the innocents found are re-queued together
 *   at the front and re-verified as one batch on the current main before main moves.
 * - **Culprit**: the change a bisection ends on; it is rejected with the log of its failing check.
 */

export type EntryState = 'queued' | 'testing' | 'merged' | 'rejected' | 'needs_rework' | 'cancelled';

/** The allowed moves. Terminal states have none. */
export const ENTRY_TRANSITIONS: Readonly<Record<EntryState, readonly EntryState[]>> = {
  queued: ['testing', 'needs_rework', 'cancelled', 'rejected'],
  testing: ['queued', 'merged', 'rejected', 'needs_rework', 'cancelled'],
  merged: [],
  rejected: [],
  needs_rework: [],
  cancelled: [],
};

export const TERMINAL_STATES: readonly EntryState[] = ['merged', 'rejected', 'needs_rework', 'cancelled'];

export interface SubmitInput {
  readonly id: string;
  readonly author: string;
  /** Higher goes first. @default 0 */
  readonly priority?: number;
  /** Entries that must merge before (or in the same tree as) this one. */
  readonly dependsOn?: readonly string[];
}

export interface EntryView {
  readonly id: string;
  readonly author: string;
  readonly priority: number;
  readonly dependsOn: readonly string[];
  /** Submission order, for FIFO among equal priorities. */
  readonly seq: number;
  readonly state: EntryState;
  readonly reason: string;
  /** Checks that included this entry. */
  readonly checks: number;
  /** The main version this entry merged at, when merged. */
  readonly mergedAt: number | null;
  /** The check whose failure named this entry the culprit, when rejected. */
  readonly failedCheck: string | null;
}

export interface Transition {
  readonly entryId: string;
  readonly from: EntryState;
  readonly to: EntryState;
  readonly reason: string;
}

/** Where a check's tree starts: a main version, or the tree of another check (speculation). */
export type CheckBase = { readonly version: number } | { readonly check: string };

export type CheckPurpose = 'batch' | 'retry' | 'bisect' | 'bisect-retry';

/** A check the engine wants run: the tree is `base` with `entries` applied in order. */
export interface CheckRequest {
  readonly id: string;
  readonly base: CheckBase;
  /** Entries applied on top of `base`, in order (empty for a retry of the same tree). */
  readonly entries: readonly string[];
  /** Every entry in the tree above the main version it ultimately builds on, in order. */
  readonly tree: readonly string[];
  /** The main version the tree ultimately builds on. */
  readonly version: number;
  readonly purpose: CheckPurpose;
}

export type CheckOutcome = 'pass' | 'fail';

/**
 * Main moves to the tree of `check` (which passed). `from` is the version main must still be at;
 * `merged` are the entries that become part of main.
 */
export interface Advance {
  readonly check: string;
  readonly from: number;
  readonly to: number;
  readonly merged: readonly string[];
}

export interface BatchSize {
  readonly min: number;
  readonly max: number;
}

export interface WindowOptions {
  /** @default 20 */
  readonly initial?: number;
  /** @default 3 */
  readonly floor?: number;
  /** @default 40 */
  readonly ceiling?: number;
}

export interface EngineStats {
  readonly checks: number;
  /** Speculative checks whose result was thrown away because a slot ahead failed. */
  readonly discarded: number;
  /** Checks still running when a later slot's pass merged their tree: not needed, not wasted by a failure. */
  readonly superseded: number;
  /** Failures that passed on retry (flakes caught). */
  readonly flakes: number;
  readonly retries: number;
  readonly bisections: number;
  /** Deepest bisection so far (levels). */
  readonly maxBisectionDepth: number;
  readonly merged: number;
  readonly rejected: number;
  readonly advances: number;
  readonly window: number;
  /** Size of the next batch (adaptive within `{min, max}`, see `batching.ts`). */
  readonly batchTarget: number;
  /** Smallest and largest batch sizes used so far. */
  readonly batchRange: { readonly low: number; readonly high: number };
  /** Culprit rate the batch size is chosen from. */
  readonly culpritRate: number;
  readonly culprits: readonly string[];
}

/** How the queue engine (`engine.ts`) batches, speculates and reports. */
export interface QueueEngineOptions {
  /** @default { min: 1, max: 8 } */
  readonly batch?: Partial<BatchSize>;
  /**
   * Size batches within `batch` from the culprit rate seen lately (`batching.ts`); false keeps
   * every batch at `batch.max`. @default true
   */
  readonly adaptiveBatch?: boolean;
  readonly window?: WindowOptions;
  /** Ids for checks; @default `c1`, `c2`, … */
  readonly newCheckId?: () => string;
  /**
   * Let a later slot's pass move main straight to its tree, past slots still running. Fewer checks
   * wait, but main's first-parent history then holds commits that were never checked on their own.
   * @default false (every commit main points at, and every first-parent commit, passed its check)
   */
  readonly jumpAhead?: boolean;
  /** Called on every state change of an entry, with its reason (the audit trail). */
  readonly onTransition?: (transition: Transition) => void;
}
