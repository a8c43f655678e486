/**
 * The new text of a reply: what its author wrote, without the message it quotes or the signature.
 * Mail clients mark the quoted part in a few recurring ways, each recognised here:
 * - `>`-quoted lines (dropped wherever they are, so answers written between quotes are kept);
 * - an attribution line before the quote — "On … wrote:" and its translations (de, fr, es, sv, nl,
 *   it, pt), also when the client wrapped it over two lines;
 * - Outlook's "-----Original Message-----" (and translations) or a header block
 *   ("From: … / Sent: … / To: … / Subject: …", also localised, after an optional `____` rule);
 * - a forwarded-message separator;
 * - the signature delimiter "-- " (RFC 3676 §4.3; "--" too, as clients strip the space) and
 *   "Sent from my …" phone footers.
 * Everything from the first attribution, separator, header block or signature on is cut.
 */

export interface ReplyText {
  /** The reply's own text. */
  readonly text: string;
  /** Whether anything (quote, attribution, signature) was removed. */
  readonly trimmed: boolean;
}

const ATTRIBUTIONS = [
  /^On\b.{1,300}\bwrote:$/i, // en
  /^Am\b.{1,300}\bschrieb\b.{0,300}:$/i, // de
  /^Le\b.{1,300}\ba écrit\s?:$/i, // fr
  /^El\b.{1,300}\bescribió:$/i, // es
  /^Den\b.{1,300}\bskrev\b.{0,300}:$/i, // sv
  /^Op\b.{1,300}\bschreef\b.{0,300}:$/i, // nl
  /^Il\b.{1,300}\bha scritto:$/i, // it
  /^Em\b.{1,300}\bescreveu:$/i, // pt
];
/** "Name <a@b> wrote:" alone (Thunderbird, mailing lists): only when a quote follows. */
const BARE_ATTRIBUTION =
  /^.{1,300}\b(wrote|schrieb|a écrit|escribió|skrev|schreef|ha scritto|escreveu)\s?:$/i;
const SEPARATOR =
  /^-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Ursprungligt meddelande|Oorspronkelijk bericht|Messaggio originale|Mensagem original|Forwarded message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado|Vidarebefordrat meddelande)\s*-{2,}$/i;
const HEADER_FROM = /^\*?(From|Von|De|Från|Van|Da|Fra)\s*:\*?\s/i;
const HEADER_NEXT =
  /^\*?(Sent|Date|To|Subject|Cc|Gesendet|Datum|An|Betreff|Envoyé|À|Objet|Enviado|Fecha|Para|Asunto|Skickat|Till|Ämne|Verzonden|Aan|Onderwerp)\s*:/i;
const RULE = /^_{10,}$/;
const SIGNATURE = /^--\s?$/;
const PHONE_FOOTER =
  /^(Sent from my|Get Outlook for|Von meinem .{1,40} gesendet|Envoyé de mon|Enviado desde mi|Skickat från min)\b/i;
const QUOTED = /^\s*>/;

const isAttribution = (line: string): boolean => ATTRIBUTIONS.some((re) => re.test(line));

/** Whether an Outlook-style header block starts at `i`: From: then another header within 4 lines. */
function headerBlockAt(lines: readonly string[], i: number): boolean {
  if (!HEADER_FROM.test((lines[i] ?? '').trim())) return false;
  return lines.slice(i + 1, i + 5).some((l) => HEADER_NEXT.test(l.trim()));
}

function nextNonBlank(lines: readonly string[], i: number): string | undefined {
  return lines.slice(i + 1).find((l) => l.trim() !== '');
}

/**
 * Whether the author answered between the quotes after an attribution ending before `j`: the
 * attribution is followed by a quote, and text of the author's own comes after a quoted line.
 * (An attribution followed by unquoted text introduces an unquoted original: not interleaved.)
 */
function interleavedFrom(lines: readonly string[], j: number): boolean {
  const rest = lines.slice(j);
  const first = rest.findIndex((l) => l.trim() !== '');
  if (first < 0 || !QUOTED.test(rest[first] ?? '')) return false;
  for (const line of rest.slice(first)) {
    if (SIGNATURE.test(line) || isAttribution(line.trim())) return false;
    if (line.trim() !== '' && !QUOTED.test(line)) return true;
  }
  return false;
}

/** How many lines (1, 2 when wrapped, 0 for none) an attribution at `i` takes. */
function attributionAt(lines: readonly string[], i: number): number {
  const line = (lines[i] ?? '').trim();
  if (QUOTED.test(line)) return 0;
  if (isAttribution(line)) return 1;
  if (isAttribution(`${line} ${(lines[i + 1] ?? '').trim()}`)) return 2;
  return BARE_ATTRIBUTION.test(line) && QUOTED.test(nextNonBlank(lines, i) ?? '') ? 1 : 0;
}

/** Where the quoted part begins (or the line count), and attribution lines of interleaved quotes. */
function scan(lines: readonly string[]): { cut: number; drop: Set<number> } {
  const drop = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (SIGNATURE.test(lines[i] ?? '') || PHONE_FOOTER.test(line) || SEPARATOR.test(line))
      return { cut: i, drop };
    const span = attributionAt(lines, i);
    if (span > 0) {
      if (!interleavedFrom(lines, i + span)) return { cut: i, drop };
      for (let k = i; k < i + span; k++) drop.add(k);
      i += span - 1;
      continue;
    }
    if ((RULE.test(line) && headerBlockAt(lines, i + 1)) || headerBlockAt(lines, i)) return { cut: i, drop };
  }
  return { cut: lines.length, drop };
}

/** Extracts the new text of a reply body (plain text). */
export function replyText(body: string): ReplyText {
  const normalized = body.replace(/\r\n?/g, '\n');
  const lines = normalized.split('\n');
  const { cut, drop } = scan(lines);
  const kept = lines.slice(0, cut).filter((l, i) => !drop.has(i) && !QUOTED.test(l));
  const text = kept
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { text, trimmed: cut < lines.length || kept.length < cut };
}
