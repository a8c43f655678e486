/**
 * @module mergequeue/entries
 * The entry table of one queue: the state machine (every move checked against
 * {@link ENTRY_TRANSITIONS} and recorded with its reason) and the waiting order — re-queued groups
 * first (in the order they came back), then priority (higher first), then submission order.
 */
import { StrataError } from '../kernel/errors.ts';
import {
  ENTRY_TRANSITIONS,
  TERMINAL_STATES,
  type EntryState,
  type EntryView,
  type SubmitInput,
  type Transition,
} from './types.ts';

export interface EntryRecord {
  id: string;
  author: string;
  priority: number;
  dependsOn: readonly string[];
  seq: number;
  state: EntryState;
  reason: string;
  checks: number;
  mergedAt: number | null;
  failedCheck: string | null;
  /** 0 for first-time waiters; re-queued groups get increasing negative ranks to go first. */
  group: number;
}

export class EntryTable {
  readonly #entries = new Map<string, EntryRecord>();
  readonly #onTransition: (transition: Transition) => void;
  #seq = 0;
  #groups = -1_000_000_000;

  constructor(onTransition: (transition: Transition) => void) {
    this.#onTransition = onTransition;
  }

  add(input: SubmitInput, restored?: Partial<Pick<EntryRecord, 'seq' | 'checks'>>): EntryRecord {
    if (this.#entries.has(input.id)) {
      throw new StrataError('E_CONFLICT', `entry ${input.id} is already in the queue`, { id: input.id });
    }
    for (const dep of input.dependsOn ?? []) {
      if (!this.#entries.has(dep)) {
        throw new StrataError(
          'E_NOT_FOUND',
          `entry ${input.id} depends on ${dep}, which is not in this queue`,
          {
            id: input.id,
            dependsOn: dep,
          },
        );
      }
    }
    const seq = restored?.seq ?? ++this.#seq;
    this.#seq = Math.max(this.#seq, seq);
    const record: EntryRecord = {
      id: input.id,
      author: input.author,
      priority: input.priority ?? 0,
      dependsOn: [...(input.dependsOn ?? [])],
      seq,
      state: 'queued',
      reason: 'submitted',
      checks: restored?.checks ?? 0,
      mergedAt: null,
      failedCheck: null,
      group: 0,
    };
    this.#entries.set(record.id, record);
    return record;
  }

  get(id: string): EntryRecord {
    const record = this.#entries.get(id);
    if (!record) throw new StrataError('E_NOT_FOUND', `no entry ${id} in this queue`, { id });
    return record;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  all(): EntryRecord[] {
    return [...this.#entries.values()];
  }

  move(id: string, to: EntryState, reason: string): void {
    const record = this.get(id);
    if (record.state === to) {
      record.reason = reason;
      return;
    }
    if (!ENTRY_TRANSITIONS[record.state].includes(to)) {
      throw new StrataError('E_CONFLICT', `entry ${id} cannot go from ${record.state} to ${to}`, {
        id,
        from: record.state,
        to,
      });
    }
    const from = record.state;
    record.state = to;
    record.reason = reason;
    this.#onTransition({ entryId: id, from, to, reason });
  }

  /** Puts entries back to waiting, together, ahead of every other waiter. */
  requeueFront(ids: readonly string[], reason: string): void {
    if (ids.length === 0) return;
    const group = ++this.#groups;
    for (const id of ids) {
      const record = this.get(id);
      if (TERMINAL_STATES.includes(record.state)) continue;
      record.group = group;
      this.move(id, 'queued', reason);
    }
  }

  /** Puts entries back to waiting in their usual place (they were not at fault). */
  requeue(ids: readonly string[], reason: string): void {
    for (const id of ids) {
      const record = this.get(id);
      if (!TERMINAL_STATES.includes(record.state)) this.move(id, 'queued', reason);
    }
  }

  waiting(): EntryRecord[] {
    return this.all()
      .filter((e) => e.state === 'queued')
      .sort((a, b) => a.group - b.group || b.priority - a.priority || a.seq - b.seq);
  }

  isTerminal(id: string): boolean {
    return TERMINAL_STATES.includes(this.get(id).state);
  }

  view(id: string): EntryView {
    const { group: _group, ...rest } = this.get(id);
    return { ...rest, dependsOn: [...rest.dependsOn] };
  }
}
