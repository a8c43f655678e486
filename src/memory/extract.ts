/**
 * @module memory/extract
 * Turning messages into candidate facts.
 *
 * The offline extractor ({@link OfflineExtractor}) is deterministic and needs no model:
 * 1. sentence split (punctuation followed by a capital, a quote or a digit);
 * 2. questions and small talk (fewer than three content words) are not facts;
 * 3. speaker attribution: first-person words become the speaker's name with the verb agreeing
 *    ("I'm moving to Paris" said by Alice → "Alice is moving to Paris"; "my dog" → "Alice's dog");
 * 4. dates normalised against the message time with chrono-node ("yesterday" said on 8 May 2023 →
 *    "yesterday (7 May 2023)"; "last year" → "last year (2022)");
 * 5. slots for single-valued facts (where someone lives or works, age, favourites, partner …) so a
 *    newer value supersedes an older one, and negations ("Alice no longer lives in Paris") that
 *    close a fact without adding one;
 * 6. entities: capitalised names and the speaker.
 * Duplicate detection and the ADD/UPDATE/DELETE/NOOP decision happen when facts meet the store
 * (`memory/decide`), for this extractor and for a model-backed one alike.
 */
import type * as Chrono from 'chrono-node';
import { terms } from './text.ts';

/** A message after validation: an id, a speaker, a time. */
export interface SourceMessage {
  readonly id: string;
  readonly role: 'user' | 'assistant' | 'system' | 'tool';
  readonly speaker: string;
  /** True when the speaker is a real name (not just a role). */
  readonly named: boolean;
  readonly content: string;
  readonly at: number;
}

export interface Slot {
  readonly subject: string;
  readonly predicate: string;
  readonly object: string;
  /** "no longer …": closes the slot's current fact instead of adding one. */
  readonly negated: boolean;
}

export interface CandidateFact {
  readonly text: string;
  readonly speaker: string | null;
  readonly sources: readonly string[];
  readonly eventAt: number;
  readonly slot: Slot | null;
  readonly entities: readonly string[];
}

/** Extracts candidate facts from messages. Implementations: offline (default) and model-backed. */
export interface FactExtractor {
  readonly name: string;
  extract(messages: readonly SourceMessage[]): Promise<CandidateFact[]>;
}

export class OfflineExtractor implements FactExtractor {
  readonly name = 'offline';

  async extract(messages: readonly SourceMessage[]): Promise<CandidateFact[]> {
    await loadChrono();
    const out: CandidateFact[] = [];
    for (const m of messages) {
      if (m.role === 'system' || m.role === 'tool') continue;
      if (m.role === 'assistant' && !m.named) continue; // an assistant's words are not facts about anyone
      for (const sentence of splitSentences(m.content)) {
        const fact = factOf(sentence, m);
        if (fact) out.push(fact);
      }
    }
    return out;
  }
}

export function splitSentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+(?=["'“‘(]?[A-Z0-9])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function factOf(sentence: string, m: SourceMessage): CandidateFact | null {
  if (/\?\s*["')”’]*$/.test(sentence)) return null;
  const subject = m.named ? m.speaker : null;
  let text = subject === null ? sentence : attribute(sentence, subject);
  if (terms(text).length < 3) return null; // small talk: "Good to see you!"

  text = normaliseDates(text, m.at);
  text = text.replace(/[\s!.]+$/, '');
  const slot = subject === null ? null : slotOf(text, subject);
  return {
    text,
    speaker: m.speaker,
    sources: [m.id],
    eventAt: m.at,
    slot,
    entities: entitiesOf(text, subject),
  };
}

const IRREGULAR_PAST = new Set(
  (
    'went got made took saw had did was ran came bought found thought told felt left met read began wrote gave ' +
    'kept built said knew heard won lost sent spent taught caught brought fell drove ate swam sang flew grew drew ' +
    'became chose held sold slept stood understood put let set cut hit quit shut spread forgot wore tried'
  ).split(' '),
);
const NO_AGREEMENT = new Set(
  (
    'can could will would should might must may shall also just really never always still often usually ' +
    'recently finally actually even already only totally definitely sometimes mean guess think no not'
  ).split(' '),
);
const THIRD_PERSON: Record<string, string> = { am: 'is', have: 'has', do: 'does', go: 'goes', was: 'was' };

function conjugate(verb: string): string {
  const lower = verb.toLowerCase();
  if (lower in THIRD_PERSON) return THIRD_PERSON[lower] as string;
  if (IRREGULAR_PAST.has(lower) || NO_AGREEMENT.has(lower) || /ed$|ly$|n't$/.test(lower)) return verb;
  if (!/^[a-z]+$/.test(verb)) return verb;
  if (/(s|sh|ch|x|z|o)$/.test(verb)) return `${verb}es`;
  if (/[^aeiou]y$/.test(verb)) return `${verb.slice(0, -1)}ies`;
  return `${verb}s`;
}

/** First person → the speaker, with the verb after "I" agreeing. */
export function attribute(sentence: string, name: string): string {
  return sentence
    .replace(/\bI['’]m\b/g, `${name} is`)
    .replace(/\bI['’]ve\b/g, `${name} has`)
    .replace(/\bI['’]d\b/g, `${name} would`)
    .replace(/\bI['’]ll\b/g, `${name} will`)
    .replace(/\bI (am|have|do|go|[a-z]+)\b/g, (_m, verb: string) => `${name} ${conjugate(verb)}`)
    .replace(/\bI\b/g, name)
    .replace(/\b[Mm]y\b/g, `${name}'s`)
    .replace(/\b[Mm]ine\b/g, `${name}'s`)
    .replace(/\b[Mm]yself\b/g, name)
    .replace(/\bme\b/g, name);
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

// chrono-node is ~270 modules: loaded by the first extraction, not by every process that imports
// the memory layer (each CLI command, each worker).
let chrono: typeof Chrono | undefined;

/** Loads chrono-node once; {@link normaliseDates} needs it loaded. */
export async function loadChrono(): Promise<void> {
  chrono ??= await import('chrono-node');
}

/** Appends the absolute date to each relative date expression, against the message time. */
export function normaliseDates(text: string, at: number): string {
  if (!chrono) throw new Error('normaliseDates before loadChrono()'); // a bug here, not bad input
  let results: Chrono.ParsedResult[];
  try {
    results = chrono.parse(text, new Date(at));
  } catch {
    return text;
  }
  let out = '';
  let cursor = 0;
  for (const r of results) {
    if (/\b\d{4}\b/.test(r.text)) continue; // already absolute
    if (/\bevery\s*$/i.test(text.slice(0, r.index))) continue; // a habit ("every morning"), not a date
    const d = r.start.date();
    const lower = r.text.toLowerCase();
    const precision = /\byears?\b/.test(lower) ? 'year' : /\bmonths?\b/.test(lower) ? 'month' : 'day';
    const label =
      precision === 'year'
        ? `${d.getUTCFullYear()}`
        : precision === 'month'
          ? `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`
          : `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    const end = r.index + r.text.length;
    out += `${text.slice(cursor, end)} (${label})`;
    cursor = end;
  }
  return out + text.slice(cursor);
}

const OBJECT = `([^,.;!?]+?)(?=\\s+(?:and|but|because|since|with|so|now|for|last|next|this|yesterday|today|tomorrow|on|in \\d|ago)\\b|\\s*\\(|[,.;!?]|$)`;
const PLACE_VERBS = `(?:now |currently |just )?(?:live|lives|is living|lived|has lived|moved|has moved|is moving|relocated|has relocated)`;
const WORK_VERBS = `(?:now |currently |just )?(?:work|works|is working|started working|has started working|got a job)`;

interface SlotPattern {
  readonly re: (s: string) => RegExp;
  readonly predicate: (m: RegExpMatchArray) => string;
  readonly object: (m: RegExpMatchArray) => string;
  readonly negated?: boolean;
}

const SLOT_PATTERNS: readonly SlotPattern[] = [
  {
    re: (s) =>
      new RegExp(`^${s} (?:no longer|doesn't|does not|don't|do not) (live|work)s? (?:in|at|for) ${OBJECT}`),
    predicate: (m) => (m[1] === 'live' ? 'lives_in' : 'works_at'),
    object: (m) => m[2] as string,
    negated: true,
  },
  {
    re: (s) => new RegExp(`^${s} ${PLACE_VERBS} (?:in|to) (?:the )?${OBJECT}`),
    predicate: () => 'lives_in',
    object: (m) => m[1] as string,
  },
  {
    re: (s) => new RegExp(`^${s} ${WORK_VERBS} (?:at|for) ${OBJECT}`),
    predicate: () => 'works_at',
    object: (m) => m[1] as string,
  },
  {
    re: (s) => new RegExp(`^${s} is (\\d{1,3}) years? old`),
    predicate: () => 'age',
    object: (m) => m[1] as string,
  },
  {
    re: (s) => new RegExp(`^${s}'s (?:favorite|favourite) (\\w+(?: \\w+)?) is ${OBJECT}`),
    predicate: (m) => `favorite_${(m[1] as string).toLowerCase().replace(/ /g, '_')}`,
    object: (m) => m[2] as string,
  },
  {
    re: (s) =>
      new RegExp(
        `^${s}'s (job|job title|role|title|email|phone number|address|birthday|hometown|partner|wife|husband|boyfriend|girlfriend|name) is ${OBJECT}`,
      ),
    predicate: (m) => (m[1] as string).toLowerCase().replace(/ /g, '_'),
    object: (m) => m[2] as string,
  },
];

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function slotOf(text: string, subject: string): Slot | null {
  const s = escape(subject);
  for (const p of SLOT_PATTERNS) {
    const m = text.match(p.re(s));
    if (m) {
      const object = p.object(m).trim();
      if (object.length === 0) continue;
      return { subject, predicate: p.predicate(m), object, negated: p.negated === true };
    }
  }
  return null;
}

const NOT_NAMES = new Set(
  'I The A An And But So Oh Hey Hi Yes No Yeah Wow Thanks Thank It This That What When Where Why How Who We You They He She My Our Your Their His Her Its Just Also Well Sure Ok Okay Great Good Nice Congrats Lol Absolutely Definitely Totally Really Sounds Let Have Has Had Do Does Did Can Could Would Should Will Love Glad'.split(
    ' ',
  ),
);

/** Capitalised words and runs of them ("New York"), lower-cased; the subject first. */
export function entitiesOf(text: string, subject: string | null): string[] {
  const found = new Set<string>();
  if (subject !== null) found.add(subject.toLowerCase());
  for (const m of text.matchAll(/\b[A-Z][\p{L}'’-]*(?:\s+[A-Z][\p{L}'’-]*)*/gu)) {
    const name = m[0]
      .replace(/['’]s$/, '')
      .split(/\s+/)
      .filter((w) => !NOT_NAMES.has(w))
      .join(' ');
    if (name.length > 1) found.add(name.toLowerCase());
  }
  return [...found];
}

const PREDICATE_WORDS: readonly (readonly [RegExp, string])[] = [
  [/\b(live[sd]?|living|moved?|reside[sd]?|home|city|country)\b/i, 'lives_in'],
  [/\b(work(s|ed|ing)?|job|employer|company|employed)\b/i, 'works_at'],
  [/\b(age|old)\b/i, 'age'],
  [/\b(partner|wife|husband|boyfriend|girlfriend)\b/i, 'partner'],
];

/** Slot predicates a query asks about ("where does Alice live now" → lives_in). */
export function queryPredicates(query: string): string[] {
  const out = PREDICATE_WORDS.filter(([re]) => re.test(query)).map(([, p]) => p);
  const favorite = query.match(/\bfavou?rite (\w+)/i);
  if (favorite) out.push(`favorite_${(favorite[1] as string).toLowerCase()}`);
  return out;
}

/** Entities a query mentions: its capitalised names. */
export function queryEntities(query: string): string[] {
  return entitiesOf(query, null);
}
