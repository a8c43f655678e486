/**
 * @module memory/decide
 * The ADD / UPDATE / DELETE / NOOP decision for each candidate fact against what the scope already
 * knows. Deterministic rules (the same for every extractor):
 *
 * - A fact with a **slot** (single-valued: where someone lives, works, their age …):
 *   no current fact in that slot → ADD; same object → NOOP; the new object extends the old one
 *   ("Paris" → "Paris, France") → UPDATE in place; a different object → DELETE (the older fact's
 *   validity is closed and it points at its successor; nothing is destroyed) + ADD.
 *   A negation ("no longer lives in Paris") closes the matching fact (DELETE) and adds nothing.
 * - Any other fact is compared with the most similar facts of the same scope (text + vector
 *   retrieval, then Jaccard over terms): ≥ 0.8 similar → NOOP (duplicate); it contains ≥ 90% of an
 *   older fact's terms and says more → UPDATE that fact; otherwise ADD.
 */
import type { CandidateFact } from './extract.ts';
import { jaccard, normalise, terms } from './text.ts';
import type { Memory } from './types.ts';

export type Decision =
  | { readonly event: 'ADD'; readonly fact: CandidateFact; readonly reason: string }
  | { readonly event: 'NOOP'; readonly fact: CandidateFact; readonly target: Known; readonly reason: string }
  | {
      readonly event: 'UPDATE';
      readonly fact: CandidateFact;
      readonly target: Known;
      readonly reason: string;
    }
  | {
      readonly event: 'DELETE';
      readonly fact: CandidateFact;
      readonly target: Known;
      /** Also add the candidate (a contradiction), or only close the target (a negation). */
      readonly replace: boolean;
      readonly reason: string;
    };

/** A fact already known (stored, or decided earlier in the same add). */
export interface Known {
  readonly id: string;
  readonly text: string;
  readonly object: string | null;
}

export interface Knowledge {
  /** The active fact holding a slot in the write scope. */
  slot(subject: string, predicate: string): Promise<Known | undefined>;
  /** Active facts of the write scope most similar to a text. */
  similar(fact: CandidateFact): Promise<Known[]>;
}

export const DUPLICATE_SIMILARITY = 0.8;
export const UPDATE_COVERAGE = 0.9;

const canon = (s: string): string => normalise(s);

export async function decide(fact: CandidateFact, known: Knowledge): Promise<Decision> {
  const slot = fact.slot;
  if (slot) {
    const current = await known.slot(slot.subject, slot.predicate);
    const object = canon(slot.object);
    const old = current?.object === null || current === undefined ? undefined : canon(current.object);
    if (slot.negated) {
      if (current && old !== undefined && (old.includes(object) || object.includes(old))) {
        return { event: 'DELETE', fact, target: current, replace: false, reason: `negated: ${fact.text}` };
      }
      return plain(fact, known);
    }
    if (!current || old === undefined) return { event: 'ADD', fact, reason: `new ${slot.predicate}` };
    if (old === object) return { event: 'NOOP', fact, target: current, reason: `same ${slot.predicate}` };
    if (object.startsWith(old) || object.endsWith(old)) {
      return { event: 'UPDATE', fact, target: current, reason: `more specific ${slot.predicate}` };
    }
    return {
      event: 'DELETE',
      fact,
      target: current,
      replace: true,
      reason: `${slot.predicate} changed from "${current.object ?? ''}" to "${slot.object}"`,
    };
  }
  return plain(fact, known);
}

async function plain(fact: CandidateFact, known: Knowledge): Promise<Decision> {
  const mine = new Set(terms(fact.text));
  let best: { known: Known; similarity: number; coverage: number } | undefined;
  for (const k of await known.similar(fact)) {
    if (canon(k.text) === canon(fact.text)) {
      return { event: 'NOOP', fact, target: k, reason: 'already known' };
    }
    const theirs = new Set(terms(k.text));
    const similarity = jaccard(mine, theirs);
    let covered = 0;
    for (const t of theirs) if (mine.has(t)) covered++;
    const coverage = theirs.size === 0 ? 0 : covered / theirs.size;
    if (!best || similarity > best.similarity) best = { known: k, similarity, coverage };
    if (coverage >= UPDATE_COVERAGE && mine.size > theirs.size) {
      return {
        event: 'UPDATE',
        fact,
        target: k,
        reason: `adds to a known fact (${pct(coverage)} of it kept)`,
      };
    }
  }
  if (best && best.similarity >= DUPLICATE_SIMILARITY) {
    return { event: 'NOOP', fact, target: best.known, reason: `duplicate (${pct(best.similarity)} similar)` };
  }
  return { event: 'ADD', fact, reason: 'new fact' };
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

export function knownOf(m: Memory): Known {
  return { id: m.id, text: m.text, object: m.object };
}
