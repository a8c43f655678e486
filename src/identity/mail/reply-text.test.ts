/**
 * Reply-only text against real-looking bodies (test/fixtures/mail-reply-text: the body, then
 * `=== expected ===`, then the reply's own text): Gmail, Outlook, Apple/iPhone and Thunderbird
 * quoting in English, German, French, Spanish and Swedish; signatures; interleaved answers.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { replyText } from './reply-text.ts';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/mail-reply-text');
const SPLIT = '\n=== expected ===\n';

describe('replyText fixtures (test/fixtures/mail-reply-text)', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.txt'));
  it('has the cases', () => assert.ok(files.length >= 8));
  for (const file of files) {
    it(file, () => {
      const [body, expected] = readFileSync(join(FIXTURES, file), 'utf8').split(SPLIT);
      assert.ok(body !== undefined && expected !== undefined, `${file} has no "=== expected ===" line`);
      // CRLF bodies as they come off the wire give the same answer.
      for (const variant of [body, body.replaceAll('\n', '\r\n')]) {
        assert.equal(replyText(variant).text, expected.trim());
      }
      assert.equal(replyText(body).trimmed, file !== 'no-quote.txt');
    });
  }
});

describe('replyText edge cases', () => {
  it('keeps unquoted text after an attribution that is not a quote (no false interleaving)', () => {
    const body = 'Thanks!\n\nOn Mon, 2 Mar 2026, Ann <a@x.example> wrote:\nthe original, unquoted\n';
    assert.equal(replyText(body).text, 'Thanks!');
  });
  it('does not take an ordinary sentence starting with "On" for an attribution', () => {
    const body = 'On Monday we ship.\nThe team wrote: nothing yet.';
    assert.deepEqual(replyText(body), { text: body, trimmed: false });
  });
  it('a body that is all quote leaves empty text', () => {
    assert.deepEqual(replyText('> only\n> quoted\n'), { text: '', trimmed: true });
  });
});
