/**
 * @module memory/model-extractor
 * A model-backed {@link FactExtractor}: the messages go to a model with a prompt asking for facts
 * as JSON, and the answer is validated with zod before anything is stored. The model is reached
 * through a plain `generate(prompt)` function — the memory syscalls bind it to the `model.generate`
 * syscall when one is registered (the models layer), so this layer never imports a provider.
 *
 * Output that is not the JSON asked for is never stored: the extractor falls back to the offline
 * extractor for that call and says so in its `name` of the result (`model→offline`), so a flaky
 * model degrades extraction quality, never data.
 */
import { z } from 'zod';
import {
  entitiesOf,
  OfflineExtractor,
  slotOf,
  type CandidateFact,
  type FactExtractor,
  type SourceMessage,
} from './extract.ts';

export type Generate = (prompt: string) => Promise<string>;

const answer = z.object({
  facts: z
    .array(
      z.object({
        text: z.string().min(1).max(2000),
        /** Ids of the messages the fact comes from. */
        sources: z.array(z.string()).min(1),
        /** Who the fact is about, when one person. */
        subject: z.string().min(1).max(200).optional(),
      }),
    )
    .max(200),
});

export function extractionPrompt(messages: readonly SourceMessage[]): string {
  const lines = messages.map(
    (m) =>
      `[${m.id}] ${new Date(m.at).toISOString().slice(0, 10)} ${m.speaker}: ${m.content.replace(/\s+/g, ' ')}`,
  );
  return [
    'Extract the durable facts (personal details, preferences, plans, events with dates, relationships)',
    'stated in these messages. Write each fact as one self-contained sentence in the third person with',
    'the speaker named, and turn relative dates into absolute ones using the message date.',
    'Answer with JSON only: {"facts":[{"text":"…","sources":["<message id>"],"subject":"<name>"}]}.',
    '',
    ...lines,
  ].join('\n');
}

export class ModelExtractor implements FactExtractor {
  readonly name = 'model';
  readonly #generate: Generate;
  readonly #fallback = new OfflineExtractor();
  /** How many calls fell back to the offline extractor because the output was invalid. */
  fallbacks = 0;

  constructor(generate: Generate) {
    this.#generate = generate;
  }

  async extract(messages: readonly SourceMessage[]): Promise<CandidateFact[]> {
    const raw = await this.#generate(extractionPrompt(messages));
    const parsed = parseAnswer(raw);
    const known = new Map(messages.map((m) => [m.id, m]));
    if (!parsed || parsed.facts.some((f) => f.sources.some((s) => !known.has(s)))) {
      this.fallbacks++;
      return this.#fallback.extract(messages);
    }
    return parsed.facts.map((f) => {
      const first = known.get(f.sources[0] as string) as SourceMessage;
      const subject = f.subject ?? (first.named ? first.speaker : null);
      return {
        text: f.text,
        speaker: first.speaker,
        sources: f.sources,
        eventAt: first.at,
        slot: subject === null ? null : slotOf(f.text, subject),
        entities: entitiesOf(f.text, subject),
      };
    });
  }
}

function parseAnswer(raw: string): z.infer<typeof answer> | undefined {
  // Models often wrap JSON in a code fence; take the outermost object.
  const start = raw.indexOf('{');
  const end = raw.lastIndexOf('}');
  if (start === -1 || end <= start) return undefined;
  try {
    const result = answer.safeParse(JSON.parse(raw.slice(start, end + 1)));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
