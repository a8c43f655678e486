import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractCodes } from './extract.ts';

describe('extractCodes', () => {
  it('finds codes near a keyword, split codes included, and ignores years, prices and link digits', () => {
    const text = [
      'Hi, thanks for signing up in 2026.',
      'Your verification code: 123-456',
      'Order total 4599 cents. Call 0800 123 4567.',
      'Visit https://example.com/items/98765432 for details.',
    ].join('\n');
    assert.deepEqual(
      extractCodes(text, null).codes.map((c) => c.code),
      ['123456'],
    );
  });
  it('takes a lone number as the code when no keyword is present, never a lone year', () => {
    assert.deepEqual(
      extractCodes('Use 84721 to continue', null).codes.map((c) => c.code),
      ['84721'],
    );
    assert.deepEqual(extractCodes('Copyright 2025', null).codes, []);
  });
  it('finds several codes with context', () => {
    const { codes } = extractCodes('Login code 9081. Backup PIN 55667788.', null);
    assert.deepEqual(
      codes.map((c) => c.code),
      ['9081', '55667788'],
    );
    assert.match(codes[0]!.context, /Login code 9081/);
  });
  it('lists links from text and HTML with their domain, marking magic links', () => {
    const html =
      '<a href="https://auth.service.example/magic-link?t=Zx81kQ2mP0aLwB7c&amp;u=1">Sign in</a> <a href="https://service.example/help">Help</a>';
    const { links } = extractCodes('Or paste https://service.example/verify/abc. Thanks!', html);
    assert.deepEqual(
      links.map((l) => [l.domain, l.magic, l.url]),
      [
        ['service.example', true, 'https://service.example/verify/abc'],
        ['auth.service.example', true, 'https://auth.service.example/magic-link?t=Zx81kQ2mP0aLwB7c&u=1'],
        ['service.example', false, 'https://service.example/help'],
      ],
    );
  });
});
