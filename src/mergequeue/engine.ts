/**
 * @module mergequeue/engine
 * The merge queue's decisions, with no IO: which checks to run on which trees, what a result
 * means, when main may move and to which tested tree, who the culprit is. A driver (the simulator
 * in tests, the git driver in production) asks {@link QueueEngine.next} for checks, runs them,
 * and reports each outcome; the engine answers with advances of main, each to the exact tree
 * of a check that passed and that extends the current main.
 *
 * Design (see `types.ts` for the glossary):
 * - The pipeline is a list of slots: batches sized within `{min,max}` from the culprit rate seen
 *   lately, with no more changes under test than the window and that rate make worth it
 *   (`batching.ts`). Slot k's tree is main plus slots 0..k, so its check runs while the slots
 *   ahead are still being checked. By default main moves slot by slot, each to a tree that passed; with `jumpAhead` a pass of slot k moves main
 *   straight to its tree (merging 0..k) and also proves a head that failed once was a flake.
 * - The head's failure is retried once on the same tree. A confirmed failure throws away the slots
 *   behind (their trees contain the culprit), halves the window and hands the batch to a
 *   {@link Bisection}.
 * - The first slot may exceed the window so batches stay full: the window limits speculation, not
 *   batch size.
 */
import { StrataError } from '../kernel/errors.ts';
import { batchSize, BatchSizer } from './batching.ts';
import { Bisection } from './bisection.ts';
import { EntryTable } from './entries.ts';
import type {
  Advance,
  BatchSize,
  CheckBase,
  CheckOutcome,
  CheckRequest,
  EngineStats,
  EntryView,
  SubmitInput,
  QueueEngineOptions,
} from './types.ts';
import { pickBatch, reworkOrphans } from './waiting.ts';
import { AdaptiveWindow } from './window.ts';

export type { QueueEngineOptions } from './types.ts';

interface Slot {
  readonly entries: readonly string[];
  readonly check: string;
  retryCheck?: string;
  /** Outcome of the latest check of this slot's tree. */
  outcome?: CheckOutcome;
  passedCheck?: string;
  failures: number;
  /** Results received; thrown away (counted as discarded) if the slot is dropped. */
  reported: number;
}

interface LiveCheck {
  readonly request: CheckRequest;
  readonly owner: Slot | Bisection;
}

export class QueueEngine {
  readonly #entries: EntryTable;
  readonly #batch: BatchSize;
  readonly #sizer: BatchSizer;
  readonly #window: AdaptiveWindow;
  readonly #newCheckId: () => string;
  readonly #slots: Slot[] = [];
  readonly #bisections: Bisection[] = [];
  readonly #live = new Map<string, LiveCheck>();
  readonly #pending: CheckRequest[] = [];
  readonly #culprits: string[] = [];
  /** Checks of slots merged through a later slot's pass, still running. */
  readonly #superseded = new Set<string>();
  readonly #jumpAhead: boolean;
  #version = 0;
  #paused = false;
  #counter = 0;
  #stats = {
    checks: 0,
    discarded: 0,
    superseded: 0,
    flakes: 0,
    retries: 0,
    bisections: 0,
    maxBisectionDepth: 0,
    advances: 0,
  };

  constructor(options: QueueEngineOptions = {}) {
    this.#batch = batchSize(options.batch);
    this.#sizer = new BatchSizer(this.#batch, options.adaptiveBatch ?? true);
    this.#window = new AdaptiveWindow(options.window);
    this.#jumpAhead = options.jumpAhead ?? false;
    this.#newCheckId = options.newCheckId ?? (() => `c${++this.#counter}`);
    const onTransition = options.onTransition ?? ((): void => undefined);
    this.#entries = new EntryTable(onTransition);
  }

  /** The version main is at (advances so far, plus the starting version). */
  get version(): number {
    return this.#version;
  }

  /** Starts counting main versions from `version` (a restored queue). */
  setVersion(version: number): void {
    this.#version = version;
  }

  /** Restores the culprit history batch sizes adapt to (oldest first; true: a named culprit). */
  recall(verdicts: readonly boolean[]): void {
    this.#sizer.recall(verdicts);
  }

  get paused(): boolean {
    return this.#paused;
  }

  submit(input: SubmitInput): EntryView {
    this.#entries.add(input);
    return this.#entries.view(input.id);
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  entry(id: string): EntryView {
    return this.#entries.view(id);
  }

  entries(): EntryView[] {
    return this.#entries
      .all()
      .sort((a, b) => a.seq - b.seq)
      .map((e) => this.#entries.view(e.id));
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  /** Whether a check's result still matters (drivers skip or cancel the others). */
  isLive(check: string): boolean {
    return this.#live.has(check);
  }

  stats(): EngineStats {
    const all = this.#entries.all();
    return {
      ...this.#stats,
      merged: all.filter((e) => e.state === 'merged').length,
      rejected: all.filter((e) => e.state === 'rejected').length,
      window: this.#window.value,
      batchTarget: this.#sizer.target,
      batchRange: this.#sizer.range,
      culpritRate: this.#sizer.culpritRate,
      culprits: [...this.#culprits],
    };
  }

  /** What blocks the head of the queue, for humans: the oldest in-flight check, or why nothing runs. */
  headOfLine(): { entries: readonly string[]; why: string } | null {
    const head = this.#slots[0];
    if (head) {
      const why = head.failures > 0 ? 'failed once, retrying on the same tree' : 'testing';
      return { entries: head.entries, why };
    }
    const waiting = this.#entries.waiting();
    if (waiting.length === 0) return null;
    if (this.#paused) return { entries: waiting.map((e) => e.id), why: 'queue paused' };
    return { entries: waiting.map((e) => e.id), why: 'waiting for dependencies or a batch' };
  }

  /** Checks to start now: new batches while the window has room, retries and bisection probes. */
  next(): CheckRequest[] {
    this.#fill();
    return this.#pending.splice(0);
  }

  /** Records a check's outcome; returns the advances of main it allows, in order. */
  report(check: string, outcome: CheckOutcome): Advance[] {
    const live = this.#live.get(check);
    this.#stats.checks += 1;
    if (!live) {
      if (this.#superseded.delete(check)) this.#stats.superseded += 1;
      else this.#stats.discarded += 1;
      return [];
    }
    this.#live.delete(check);
    if (live.owner instanceof Bisection) {
      this.#reportProbe(live.owner, check, outcome);
      return [];
    }
    const slot = live.owner;
    slot.reported += 1;
    slot.outcome = outcome;
    if (outcome === 'pass') slot.passedCheck = check;
    else slot.failures += 1;
    return this.#settle();
  }

  /** A check's tree could not be built: `entry` conflicts in `files`. The entry needs rework. */
  conflict(check: string, entry: string, files: readonly string[]): void {
    const live = this.#live.get(check);
    if (!live) return; // a stale check: whatever it held has moved on
    const reason = `conflicts with main and the changes ahead of it in: ${files.join(', ') || '(unknown files)'}`;
    this.#withdraw(live.owner, entry);
    if (!this.#entries.isTerminal(entry)) this.#entries.move(entry, 'needs_rework', reason);
    reworkOrphans(this.#entries);
  }

  cancel(id: string, reason: string): EntryView {
    const record = this.#entries.get(id);
    if (this.#entries.isTerminal(id)) {
      throw new StrataError('E_CONFLICT', `entry ${id} is already ${record.state}`, {
        id,
        state: record.state,
      });
    }
    const owner = this.#ownerOf(id);
    if (owner) this.#withdraw(owner, id);
    this.#entries.move(id, 'cancelled', reason);
    reworkOrphans(this.#entries);
    return this.#entries.view(id);
  }

  /** Sends a waiting or tested entry back to its author (e.g. its dependency will never merge). */
  rework(id: string, reason: string): EntryView {
    if (this.#entries.isTerminal(id)) {
      throw new StrataError('E_CONFLICT', `entry ${id} is already ${this.#entries.get(id).state}`, { id });
    }
    const owner = this.#ownerOf(id);
    if (owner) this.#withdraw(owner, id);
    this.#entries.move(id, 'needs_rework', reason);
    reworkOrphans(this.#entries);
    return this.#entries.view(id);
  }

  #ownerOf(id: string): Slot | Bisection | undefined {
    return (
      this.#slots.find((s) => s.entries.includes(id)) ??
      this.#bisections.find((b) => b.members().includes(id))
    );
  }

  /** Takes `entry` out of wherever it is tested; the others go back to waiting. */
  #withdraw(owner: Slot | Bisection, entry: string): void {
    if (owner instanceof Bisection) {
      this.#bisections.splice(this.#bisections.indexOf(owner), 1);
      for (const [id, c] of this.#live) if (c.owner === owner) this.#live.delete(id);
      this.#entries.requeueFront(owner.drop(entry), `bisection ${owner.id} abandoned: ${entry} left it`);
      return;
    }
    const index = this.#slots.indexOf(owner);
    if (index < 0) return;
    const dropped = this.#discardFrom(index);
    this.#entries.requeue(
      dropped.filter((id) => id !== entry),
      `${entry} left the batch ahead; re-queued`,
    );
  }

  #issue(spec: Omit<CheckRequest, 'id'>, owner: Slot | Bisection): CheckRequest {
    const request: CheckRequest = { id: this.#newCheckId(), ...spec };
    for (const id of spec.tree) this.#entries.get(id).checks += 1;
    this.#pending.push(request);
    if (owner) this.#live.set(request.id, { request, owner });
    return request;
  }

  #fill(): void {
    this.#driveBisections();
    if (this.#paused) return;
    for (;;) {
      const inFlight = this.#slots.reduce((n, s) => n + s.entries.length, 0);
      const limit = Math.min(this.#window.value, this.#sizer.speculation);
      if (this.#slots.length > 0 && inFlight >= limit) return;
      const inPipeline = new Set(this.#slots.flatMap((s) => s.entries));
      const batch = pickBatch(this.#entries, inPipeline, this.#sizer.target);
      if (batch.length === 0) return;
      if (batch.length < this.#batch.min && (this.#slots.length > 0 || this.#bisections.length > 0)) return;
      this.#openSlot(batch);
    }
  }

  #openSlot(batch: readonly string[]): void {
    const prev = this.#slots.at(-1);
    const tree = [...(prev ? this.#treeOf(prev) : []), ...batch];
    const base: CheckBase = prev ? { check: prev.check } : { version: this.#version };
    const slot: Slot = { entries: batch, check: '', failures: 0, reported: 0 };
    const request = this.#issue(
      { base, entries: batch, tree, version: this.#version, purpose: 'batch' },
      slot,
    );
    (slot as { check: string }).check = request.id;
    this.#slots.push(slot);
    for (const id of batch) this.#entries.move(id, 'testing', `batch check ${request.id}`);
  }

  /** Entries of every slot up to and including `slot`, above the current main. */
  #treeOf(slot: Slot): string[] {
    const index = this.#slots.indexOf(slot);
    return this.#slots.slice(0, index + 1).flatMap((s) => s.entries);
  }

  #settle(): Advance[] {
    const advances: Advance[] = [];
    for (;;) {
      const passed = this.#jumpAhead
        ? this.#slots.findLastIndex((s) => s.outcome === 'pass')
        : this.#slots[0]?.outcome === 'pass'
          ? 0
          : -1;
      if (passed >= 0) {
        advances.push(this.#advance(passed));
        continue;
      }
      const head = this.#slots[0];
      if (!head || head.outcome !== 'fail') return advances;
      if (head.failures === 1 && head.retryCheck === undefined) {
        const tree = this.#treeOf(head);
        this.#stats.retries += 1;
        const spec = {
          base: { check: head.check },
          entries: [],
          tree,
          version: this.#version,
          purpose: 'retry',
        } as const;
        const retry = this.#issue(spec, head);
        head.retryCheck = retry.id;
        head.outcome = undefined;
        return advances;
      }
      if (head.retryCheck !== undefined && this.#live.has(head.retryCheck)) return advances;
      this.#confirmedFailure(head);
      return advances;
    }
  }

  #advance(index: number): Advance {
    const slot = this.#slots[index] as Slot;
    const merged = this.#treeOf(slot);
    const head = this.#slots[0] as Slot;
    if (head.failures > 0) this.#stats.flakes += 1;
    // Every slot up to `index` is merged; their other checks no longer matter.
    for (const s of this.#slots.slice(0, index + 1)) {
      for (const c of [s.check, s.retryCheck]) {
        if (c !== undefined && this.#live.delete(c)) this.#superseded.add(c);
      }
    }
    this.#slots.splice(0, index + 1);
    const from = this.#version;
    this.#version += 1;
    this.#stats.advances += 1;
    for (const id of merged) {
      this.#entries.get(id).mergedAt = this.#version;
      this.#entries.move(
        id,
        'merged',
        `main advanced to the tree of check ${slot.passedCheck ?? slot.check}`,
      );
    }
    this.#window.merged(merged.length);
    this.#sizer.merged(merged.length);
    return { check: slot.passedCheck ?? slot.check, from, to: this.#version, merged };
  }

  #confirmedFailure(head: Slot): void {
    this.#window.failed();
    const failedCheck = head.retryCheck ?? head.check;
    this.#slots.shift();
    this.#live.delete(head.check);
    const behind = this.#discardFrom(0);
    this.#entries.requeue(behind, `a batch ahead failed (check ${failedCheck}); re-queued`);
    this.#stats.bisections += 1;
    const bisection = new Bisection({
      id: `b${this.#stats.bisections}`,
      version: this.#version,
      suspects: head.entries,
      failedCheck,
    });
    this.#bisections.push(bisection);
    for (const id of head.entries) {
      this.#entries.move(id, 'testing', `batch failed twice (check ${failedCheck}); bisecting`);
    }
    this.#driveBisections();
  }

  /** Drops slots from `index` on, forgetting their checks; returns their entries. */
  #discardFrom(index: number): string[] {
    const dropped = this.#slots.splice(index);
    for (const s of dropped) {
      this.#stats.discarded += s.reported;
      for (const c of [s.check, s.retryCheck]) if (c !== undefined) this.#live.delete(c);
    }
    return dropped.flatMap((s) => s.entries);
  }

  #reportProbe(bisection: Bisection, check: string, outcome: CheckOutcome): void {
    const { retry, flake } = bisection.report(check, outcome);
    if (flake) this.#stats.flakes += 1;
    if (retry && bisection.probe) {
      this.#stats.retries += 1;
      const probe = bisection.probe;
      const spec = { base: { check }, entries: [], tree: probe.entries, version: bisection.version } as const;
      probe.retryCheck = this.#issue({ ...spec, purpose: 'bisect-retry' }, bisection).id;
      return;
    }
    this.#stats.maxBisectionDepth = Math.max(this.#stats.maxBisectionDepth, bisection.depth);
    this.#driveBisections();
  }

  #driveBisections(): void {
    for (const bisection of [...this.#bisections]) {
      if (bisection.probe) continue;
      const step = bisection.next();
      if (step.kind === 'probe') {
        const { version } = bisection;
        const spec = { base: { version }, entries: step.entries, tree: step.entries, version } as const;
        const request = this.#issue({ ...spec, purpose: 'bisect' }, bisection);
        bisection.started(request.id, step.entries);
        continue;
      }
      if (step.kind !== 'culprit') continue;
      this.#bisections.splice(this.#bisections.indexOf(bisection), 1);
      const culprit = this.#entries.get(step.entry);
      culprit.failedCheck = step.check;
      this.#culprits.push(step.entry);
      this.#sizer.culprit();
      this.#entries.move(
        step.entry,
        'rejected',
        `culprit: check ${step.check} fails with it (bisection ${bisection.id})`,
      );
      this.#entries.requeueFront(
        step.release,
        `cleared by bisection ${bisection.id}; re-verified on current main`,
      );
      reworkOrphans(this.#entries);
    }
  }
}
