/**
 * @module memory/text
 * Tokens for lexical retrieval and the token estimate used for context budgets. Deterministic and
 * dependency-free, so the same text gives the same tokens on every machine and every store driver:
 * lower-cased words (letters, digits, inner apostrophes), a short English stop list, and a light
 * suffix stripper (plural, -ing, -ed, -ly, -ies) instead of a full Porter stemmer.
 */

const STOP = new Set(
  (
    'a an and are as at be been being but by can could did do does doing done for from had has have having ' +
    'he her hers him his how i if in into is it its just me more most my no nor not of on or our ours she so ' +
    'some such than that the their theirs them then there these they this those to too us very was we were ' +
    'what when where which while who whom why will with would you your yours also about any all am s t ll ve re d m ' +
    "hey hi oh yeah wow really thanks thank lol ok okay i'm it's that's what's don't didn't can't"
  ).split(' '),
);

/** Strips common English suffixes; short words are left alone so "was" ≠ "wa". */
export function stem(word: string): string {
  let w = word;
  if (w.length <= 3) return w;
  if (w.endsWith("'s")) w = w.slice(0, -2);
  if (w.endsWith('ies') && w.length > 4) return w.slice(0, -3) + 'y';
  if (w.endsWith('sses')) return w.slice(0, -2);
  if (w.endsWith('ing') && w.length > 5) return undouble(w.slice(0, -3));
  if (w.endsWith('edly') && w.length > 6) return undouble(w.slice(0, -4));
  if (w.endsWith('ed') && w.length > 4) return undouble(w.slice(0, -2));
  if (w.endsWith('ly') && w.length > 5) return w.slice(0, -2);
  if (w.endsWith('es') && /(sh|ch|x|z|ss)es$/.test(w)) return w.slice(0, -2);
  if (w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us') && !w.endsWith('is')) return w.slice(0, -1);
  return w;
}

function undouble(w: string): string {
  // "running" → "runn" → "run"; "painted" → "paint"
  if (w.length > 3 && w.at(-1) === w.at(-2) && !/[lsz]/.test(w.at(-1) as string)) return w.slice(0, -1);
  return w;
}

const WORD = /[\p{L}\p{N}]+(?:'[\p{L}]+)*/gu;

/** Raw lower-cased words, stop words kept. */
export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/** Index terms: words minus stop words, stemmed. */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const w of words(text)) {
    if (STOP.has(w)) continue;
    out.push(stem(w));
  }
  return out;
}

/** Term frequencies of a text. */
export function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of terms(text)) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

/**
 * Approximate model tokens: ~0.75 words per token, the usual rule for English BPE vocabularies
 * (cl100k gives 1.3 tokens per word on conversational English). Used only to compare sizes.
 */
export function estimateTokens(text: string): number {
  const n = (text.match(/\S+/g) ?? []).length;
  return Math.ceil(n * 1.3);
}

/** Jaccard similarity of two term sets. */
export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const t of a) if (b.has(t)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Text normalised for exact-duplicate detection. */
export function normalise(text: string): string {
  return words(text).join(' ');
}
