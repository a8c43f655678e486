import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { toEventSignature, toFunctionSignature, type AbiEvent, type AbiFunction } from 'viem';
import { ARTIFACT_PATH, compileRegistry } from '../../../scripts/compile-registry.ts';
import { REGISTRY_ABI } from './registry-contract.ts';

// The ERC-8004 identity registry surface clients call (erc-8004-contracts' IdentityRegistry), plus ERC-721.
const ERC8004_FUNCTIONS = [
  'register()',
  'register(string)',
  'register(string,(string,bytes)[])',
  'setAgentURI(uint256,string)',
  'tokenURI(uint256)',
  'getMetadata(uint256,string)',
  'setMetadata(uint256,string,bytes)',
  'getAgentWallet(uint256)',
  'setAgentWallet(uint256,address,uint256,bytes)',
  'ownerOf(uint256)',
  'balanceOf(address)',
  'approve(address,uint256)',
  'getApproved(uint256)',
  'setApprovalForAll(address,bool)',
  'isApprovedForAll(address,address)',
  'transferFrom(address,address,uint256)',
  'safeTransferFrom(address,address,uint256)',
  'safeTransferFrom(address,address,uint256,bytes)',
  'supportsInterface(bytes4)',
  'name()',
  'symbol()',
];
const ERC8004_EVENTS = [
  'Registered(uint256 indexed agentId, string agentURI, address indexed owner)',
  'URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy)',
  'MetadataSet(uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue)',
  'Transfer(address indexed from, address indexed to, uint256 indexed tokenId)',
];

describe('registry artifact', () => {
  it('matches what solc compiles from the committed source (rerun scripts/compile-registry.ts if not)', () => {
    const committed = JSON.parse(readFileSync(ARTIFACT_PATH, 'utf8')) as unknown;
    const fresh = compileRegistry();
    assert.deepEqual(committed, JSON.parse(JSON.stringify(fresh)));
    assert.match(fresh.bytecode, /^0x[0-9a-f]{2000,}$/);
  });

  it('a changed source no longer matches the artifact', () => {
    const source = readFileSync(new URL('./identity-registry.sol', import.meta.url), 'utf8');
    const changed = compileRegistry(source.replace('"1.1.0-strata"', '"9.9.9"'));
    const committed = JSON.parse(readFileSync(ARTIFACT_PATH, 'utf8')) as { bytecode: string };
    assert.notEqual(changed.bytecode, committed.bytecode);
  });

  it('refuses a source that does not compile, with solc’s message', () => {
    assert.throws(() => compileRegistry('contract IdentityRegistry { function f( }'), /ParserError/);
  });

  it('exposes the ERC-8004 identity registry functions and events by exact signature', () => {
    const functions = REGISTRY_ABI.filter((i): i is AbiFunction => i.type === 'function').map((f) =>
      toFunctionSignature(f),
    );
    for (const sig of ERC8004_FUNCTIONS) assert.ok(functions.includes(sig), `missing function ${sig}`);
    const events = REGISTRY_ABI.filter((i): i is AbiEvent => i.type === 'event').map((e) =>
      toEventSignature(e),
    );
    for (const sig of ERC8004_EVENTS) {
      const bare = sig
        .replace(/ indexed(?= )/g, '')
        .replace(/ \w+(?=[,)])/g, '')
        .replace(/, /g, ',');
      assert.ok(events.includes(bare), `missing event ${sig}`);
      const event = REGISTRY_ABI.find(
        (i): i is AbiEvent => i.type === 'event' && toEventSignature(i) === bare,
      );
      const indexed = event?.inputs.filter((i) => i.indexed).map((i) => i.name);
      assert.deepEqual(
        indexed,
        [...sig.matchAll(/indexed (\w+)/g)].map((m) => m[1]),
        `indexing of ${sig}`,
      );
    }
  });
});
