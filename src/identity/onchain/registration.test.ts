import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../../kernel/index.ts';
import {
  REGISTRATION_TYPE,
  assertAgentUri,
  buildRegistrationFile,
  decodeDataUri,
  parseRegistrationFile,
  registrationToDataUri,
} from './registration.ts';

// The did:key specification's own Ed25519 example.
const DID = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const A2A = 'https://node.example/agents/scout/.well-known/agent-card.json';
const MCP = 'https://node.example/mcp/server-card';

const coded = (code: string, reason?: string) => (error: unknown) => {
  assert.ok(isStrataError(error), `expected a StrataError, got ${String(error)}`);
  assert.equal(error.code, code);
  if (reason !== undefined) assert.equal((error.data as { reason: string }).reason, reason);
  return true;
};

describe('registration file', () => {
  it('builds an ERC-8004 registration-v1 file whose services point at the cards and the did:key', () => {
    const file = buildRegistrationFile({
      name: 'Scout',
      description: 'Finds things',
      didKey: DID,
      a2aCardUrl: A2A,
      mcpServerCardUrl: MCP,
      mcpVersion: '2025-11-25',
      emails: ['scout@node.example'],
      registrations: [{ agentId: 7n, agentRegistry: 'eip155:31337:0xabc' }],
    });
    assert.deepEqual(file, {
      type: REGISTRATION_TYPE,
      name: 'Scout',
      description: 'Finds things',
      services: [
        { name: 'A2A', endpoint: A2A, version: '1.0' },
        { name: 'MCP', endpoint: MCP, version: '2025-11-25' },
        { name: 'DID', endpoint: DID, version: 'v1' },
        { name: 'email', endpoint: 'scout@node.example' },
      ],
      active: true,
      registrations: [{ agentId: 7, agentRegistry: 'eip155:31337:0xabc' }],
    });
  });

  it('writes agentIds above 2^53 as decimal strings so JSON keeps them exact', () => {
    const big = 2n ** 200n + 1n;
    const file = buildRegistrationFile({
      name: 'Big',
      description: '',
      didKey: DID,
      registrations: [{ agentId: big, agentRegistry: 'eip155:1:0xabc' }],
    });
    assert.equal(file.registrations?.[0]?.agentId, big.toString());
  });

  it('round-trips through a data: URI', () => {
    const file = buildRegistrationFile({ name: 'Scout', description: 'é ✓', didKey: DID, a2aCardUrl: A2A });
    const uri = registrationToDataUri(file);
    assert.match(uri, /^data:application\/json;base64,[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(parseRegistrationFile(decodeDataUri(uri)), file);
  });

  it('reads the legacy `endpoints` key as services', () => {
    const file = parseRegistrationFile({
      type: REGISTRATION_TYPE,
      name: 'Old',
      description: 'draft format',
      endpoints: [{ name: 'A2A', endpoint: A2A }],
    });
    assert.deepEqual(file.services, [{ name: 'A2A', endpoint: A2A }]);
    assert.equal('endpoints' in file, false);
  });

  it('refuses files that are not registration-v1, listing the bad paths', () => {
    const bad: unknown[] = [
      null,
      { type: 'https://example.com/other', name: 'x', services: [] },
      { type: REGISTRATION_TYPE, services: [] },
      { type: REGISTRATION_TYPE, name: 'x' },
      { type: REGISTRATION_TYPE, name: 'x', services: [{ name: 'A2A' }] },
      {
        type: REGISTRATION_TYPE,
        name: 'x',
        services: [],
        registrations: [{ agentId: -1, agentRegistry: 'r' }],
      },
    ];
    for (const json of bad) {
      assert.throws(
        () => parseRegistrationFile(json),
        coded('E_ONCHAIN_REGISTRATION_INVALID'),
        JSON.stringify(json),
      );
    }
  });

  it('refuses a malformed did:key or a non-https card URL in the builder', () => {
    const base = { name: 'x', description: '' };
    for (const didKey of ['did:web:example.com', 'did:key:abc', `${DID}\n`, 'did:key:z0OIl']) {
      assert.throws(
        () => buildRegistrationFile({ ...base, didKey }),
        coded('E_ONCHAIN_REGISTRATION_INVALID'),
      );
    }
    for (const a2aCardUrl of ['http://node.example/card.json', 'javascript:alert(1)', 'not a url']) {
      assert.throws(
        () => buildRegistrationFile({ ...base, didKey: DID, a2aCardUrl }),
        coded('E_ONCHAIN_REGISTRATION_INVALID'),
      );
    }
    // A node on loopback (tests, a laptop) serves its cards over plain http.
    const local = buildRegistrationFile({
      ...base,
      didKey: DID,
      a2aCardUrl: 'http://127.0.0.1:8080/card.json',
    });
    assert.equal(local.services[0]?.endpoint, 'http://127.0.0.1:8080/card.json');
  });
});

describe('agent URIs', () => {
  it('accepts https, ipfs and JSON data: URIs', () => {
    assertAgentUri('https://node.example/agents/scout/registration.json');
    assertAgentUri('ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy');
    assertAgentUri(registrationToDataUri(buildRegistrationFile({ name: 'x', description: '', didKey: DID })));
    assertAgentUri(`data:application/json,${encodeURIComponent('{"a":1}')}`);
  });

  it('refuses malformed URIs with a reason', () => {
    const cases: [string, string][] = [
      ['', 'empty'],
      ['https://node.example/a b', 'whitespace or control character'],
      ['https://node.example/a\r\nX-Injected: 1', 'whitespace or control character'],
      ['http://node.example/reg.json', 'scheme http: is not https:, ipfs: or data:'],
      ['ftp://node.example/reg.json', 'scheme ftp: is not https:, ipfs: or data:'],
      ['javascript:alert(1)', 'scheme javascript: is not https:, ipfs: or data:'],
      ['https://user:pw@node.example/reg.json', 'credentials in the URL'],
      ['ipfs://x', 'no CID'],
      ['no-scheme', 'not a URL'],
      [`https://node.example/${'a'.repeat(2100)}`, 'longer than 2048 characters'],
      ['data:text/plain;base64,aGVsbG8=', 'media type'],
      ['data:application/json;base64,@@@', 'base64'],
      ['data:application/json;base64,aGVsbG8=', 'json'],
      [`data:application/json;base64,${'A'.repeat(70_000)}`, 'longer than 65536 characters'],
    ];
    for (const [uri, reason] of cases) {
      assert.throws(() => assertAgentUri(uri), coded('E_ONCHAIN_URI_INVALID', reason), uri.slice(0, 60));
    }
  });
});
