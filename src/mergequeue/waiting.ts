/**
 * @module mergequeue/waiting
 * Decisions about the entries waiting in a queue, apart from the engine's pipeline: which of them
 * form the next batch (in waiting order, each only once its dependencies are merged or ahead of
 * it), and which can never merge because a dependency was rejected, sent back or cancelled.
 */
import type { EntryRecord, EntryTable } from './entries.ts';

/** Up to `size` waiting entries, in order, whose dependencies are merged or tested ahead of them. */
export function pickBatch(entries: EntryTable, inPipeline: ReadonlySet<string>, size: number): string[] {
  const picked: string[] = [];
  const ready = (e: EntryRecord): boolean =>
    e.dependsOn.every(
      (dep) => entries.get(dep).state === 'merged' || inPipeline.has(dep) || picked.includes(dep),
    );
  for (const entry of entries.waiting()) {
    if (picked.length >= size) break;
    if (ready(entry)) picked.push(entry.id);
  }
  return picked;
}

/** Sends to rework every waiting entry whose dependency will never merge, transitively. */
export function reworkOrphans(entries: EntryTable): void {
  for (let changed = true; changed;) {
    changed = false;
    for (const entry of entries.waiting()) {
      const dead = entry.dependsOn.find((dep) => {
        const state = entries.get(dep).state;
        return state === 'rejected' || state === 'needs_rework' || state === 'cancelled';
      });
      if (dead === undefined) continue;
      const state = entries.get(dead).state;
      entries.move(entry.id, 'needs_rework', `depends on ${dead}, which is ${state}`);
      changed = true;
    }
  }
}
