/**
 * `mail.extractCodes`: one-time codes and magic links from a message, so an agent signing up
 * somewhere does not have to parse mail itself. Codes are 4–8 digit runs (also split as "123 456"
 * or "123-456") near a word such as "code", "OTP", "PIN" or "verification"; without such a word
 * nearby a run counts only when it is the message's single candidate and not a year. Links are
 * every http(s) URL of the text and the HTML hrefs with their host, marked `magic` when the URL
 * looks like a sign-in or confirmation link carrying a token.
 */
export interface ExtractedCode {
  readonly code: string;
  /** The text around the code, for a human or a model to check. */
  readonly context: string;
}

export interface ExtractedLink {
  readonly url: string;
  readonly domain: string;
  readonly magic: boolean;
}

export interface Extracted {
  readonly codes: readonly ExtractedCode[];
  readonly links: readonly ExtractedLink[];
}

const KEYWORD =
  /\b(?:code|otp|pin|passcode|one[- ]time|verification|verify|security|confirm(?:ation)?|login|sign[- ]?in|token|código|codice|kod)\b/i;
// Not part of a longer number, a decimal, a date, a path or a phone number's groups.
const CODE = /(?<![\w.,/:-]|\d[ -])(\d{3}[- ]\d{3}|\d{4,8})(?!\w|[.,/:-]\d|[ -]\d)/g;
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"')\]]+/gi;
const HREF = /href\s*=\s*["']?(https?:\/\/[^"'\s>]+)/gi;
const MAGIC =
  /(?:magic|login|log-in|signin|sign-in|sign_in|verify|confirm|auth|token|session|activate|reset)/i;

function looksLikeYear(code: string): boolean {
  return /^(?:19|20)\d\d$/.test(code);
}

function codesOf(text: string): ExtractedCode[] {
  const all: (ExtractedCode & { near: boolean })[] = [];
  for (const m of text.matchAll(CODE)) {
    const start = m.index;
    const end = start + m[0].length;
    // A keyword counts only on the code's own line, shortly before it or right after it.
    const lineStart = text.lastIndexOf('\n', start) + 1;
    const lineEnd = text.indexOf('\n', end) === -1 ? text.length : text.indexOf('\n', end);
    const before = text.slice(Math.max(lineStart, start - 40), start);
    const after = text.slice(end, Math.min(lineEnd, end + 30));
    const context = text.slice(Math.max(lineStart, start - 60), Math.min(lineEnd, end + 30)).trim();
    all.push({ code: m[0].replace(/[- ]/g, ''), context, near: KEYWORD.test(before) || KEYWORD.test(after) });
  }
  const near = all.filter((c) => c.near && !looksLikeYear(c.code));
  const chosen = near.length > 0 ? near : all.length === 1 && !looksLikeYear(all[0]?.code ?? '') ? all : [];
  const seen = new Set<string>();
  return chosen
    .filter((c) => !seen.has(c.code) && seen.add(c.code))
    .map(({ code, context }) => ({ code, context }));
}

function linkOf(raw: string): ExtractedLink | undefined {
  const url = raw.replace(/[.,;:!?]+$/, '').replaceAll('&amp;', '&');
  try {
    const parsed = new URL(url);
    const magic =
      MAGIC.test(parsed.pathname + parsed.search) ||
      [...parsed.searchParams.values()].some((v) => v.length >= 16);
    return { url: parsed.href, domain: parsed.hostname.toLowerCase(), magic };
  } catch {
    return undefined;
  }
}

/** Codes and links of a message's text and HTML. */
export function extractCodes(text: string, html: string | null): Extracted {
  const urls = [...text.matchAll(URL_IN_TEXT)].map((m) => m[0]);
  if (html) urls.push(...[...html.matchAll(HREF)].map((m) => m[1] as string));
  const byUrl = new Map<string, ExtractedLink>();
  for (const raw of urls) {
    const link = linkOf(raw);
    if (link && !byUrl.has(link.url)) byUrl.set(link.url, link);
  }
  // Codes are looked for in the text with URLs removed, so digits inside a link are not codes.
  return { codes: codesOf(text.replace(URL_IN_TEXT, ' ')), links: [...byUrl.values()] };
}
