import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeFunctionData, getAddress, type Address, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { compileRegistry } from '../../../scripts/compile-registry.ts';
import { ManualClock, isStrataError } from '../../kernel/index.ts';
import {
  InProcessChain,
  OnchainIdentityDriver,
  REGISTRY_ABI,
  buildRegistrationFile,
  parseAgentId,
  registrationToDataUri,
  signAgentWalletProof,
} from './index.ts';

const DID = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';
const A2A = 'https://node.example/agents/scout/.well-known/agent-card.json';
const MCP = 'https://node.example/mcp/server-card';
const SCOUT = {
  name: 'Scout',
  description: 'Finds things',
  didKey: DID,
  a2aCardUrl: A2A,
  mcpServerCardUrl: MCP,
};

const account = () => privateKeyToAccount(generatePrivateKey());
const coded =
  (code: string, data: Record<string, unknown> = {}) =>
  (error: unknown) => {
    assert.ok(isStrataError(error), `expected a StrataError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const [k, v] of Object.entries(data))
      assert.deepEqual((error.data as Record<string, unknown>)[k], v, k);
    return true;
  };

describe('onchain identity driver (ERC-8004 registry on an in-process EVM)', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const [deployer, owner, other, wallet] = [account(), account(), account(), account()];
  const fetchCalls: unknown[] = [];
  const realFetch = globalThis.fetch;
  let chain: InProcessChain;
  let driver: OnchainIdentityDriver;
  let agentId: bigint;

  /** A wallet proof for the registry under test (or another), owned by `owner`. */
  const proof = (p: { wallet: LocalAccount; agentId: bigint; deadline: bigint; registry?: Address }) =>
    signAgentWalletProof({
      ...p,
      owner: owner.address,
      chainId: chain.chainId,
      registry: p.registry ?? driver.registry,
    });

  before(async () => {
    // Any attempt at the network fails the test: nothing here may fetch.
    globalThis.fetch = (input: unknown) => {
      fetchCalls.push(input);
      return Promise.reject(new Error('network used'));
    };
    chain = await InProcessChain.create({ clock });
    // compile → deploy: the bytecode comes from solc in this run, not only from the committed artifact.
    const { bytecode } = compileRegistry();
    const deployed = await chain.send({ account: deployer, data: bytecode });
    assert.equal(deployed.status, 'success');
    assert.ok(deployed.contractAddress);
    driver = new OnchainIdentityDriver({ chain, registry: deployed.contractAddress });
  });

  after(() => {
    globalThis.fetch = realFetch;
  });

  it('registers an agent: mint, then a data: URI file naming the new id; resolve returns it', async () => {
    const result = await driver.registerAgent({ account: owner, agent: SCOUT });
    agentId = result.agentId;
    assert.equal(agentId, 0n);
    assert.equal(result.owner, owner.address);
    assert.deepEqual(result.registration.registrations, [
      { agentId: 0, agentRegistry: driver.agentRegistry },
    ]);
    assert.equal(driver.agentRegistry, `eip155:31337:${driver.registry}`);
    const resolved = await driver.resolve(agentId);
    assert.deepEqual(resolved, { agentId, owner: owner.address, uri: result.uri, wallet: owner.address });
    assert.deepEqual(await driver.readRegistration(resolved.uri), result.registration);
  });

  it('verifies the agent against its did:key and Strata’s cards, every check passing', async () => {
    const report = await driver.verify(agentId, {
      didKey: DID,
      a2aCardUrl: A2A,
      mcpServerCardUrl: MCP,
      owner: owner.address,
    });
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    assert.deepEqual(
      report.checks.map((c) => c.check),
      ['registration', 'backReference', 'did', 'a2a', 'mcp', 'owner'],
    );
  });

  it('verification fails, naming the check, for another did:key, card or owner', async () => {
    const report = await driver.verify(agentId, {
      didKey: 'did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH',
      a2aCardUrl: 'https://evil.example/.well-known/agent-card.json',
      owner: other.address,
    });
    assert.equal(report.ok, false);
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.check);
    assert.deepEqual(failed, ['did', 'a2a', 'owner']);
    assert.deepEqual(report.checks.find((c) => c.check === 'a2a')?.actual, [A2A]);
  });

  it('a file that does not name this registry entry fails the back-reference check', async () => {
    // Someone copies Scout's file (cards, did:key) into their own registration: it names no id of theirs.
    const copied = registrationToDataUri(buildRegistrationFile(SCOUT));
    const { agentId: impostor } = await driver.register({ account: other, uri: copied });
    const report = await driver.verify(impostor, { didKey: DID, a2aCardUrl: A2A });
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.checks.filter((c) => !c.ok).map((c) => c.check),
      ['backReference'],
    );
  });

  it('an https URI is read only through a supplied fetcher; without one verify says so and fetches nothing', async () => {
    const uri = 'https://node.example/agents/pilot/registration.json';
    const { agentId: pilot } = await driver.register({ account: owner, uri });
    const offline = await driver.verify(pilot, { didKey: DID });
    assert.equal(offline.ok, false);
    assert.match(offline.checks[0]?.reason ?? '', /^E_ONCHAIN_URI_UNRESOLVED/);
    const file = buildRegistrationFile({
      ...SCOUT,
      registrations: [{ agentId: pilot, agentRegistry: driver.agentRegistry }],
    });
    const served = new Map([[uri, JSON.parse(JSON.stringify(file)) as unknown]]);
    const withFetcher = new OnchainIdentityDriver({
      chain,
      registry: driver.registry,
      fetchRegistration: (u) => Promise.resolve(served.get(u)),
    });
    assert.equal((await withFetcher.verify(pilot, { didKey: DID, a2aCardUrl: A2A })).ok, true);
  });

  it('the owner updates the URI; a non-owner’s update reverts and changes nothing', async () => {
    const next = registrationToDataUri(
      buildRegistrationFile({
        ...SCOUT,
        description: 'v2',
        registrations: [{ agentId, agentRegistry: driver.agentRegistry }],
      }),
    );
    await driver.updateUri({ account: owner, agentId, uri: next });
    assert.equal((await driver.resolve(agentId)).uri, next);
    const hijack = 'https://evil.example/registration.json';
    await assert.rejects(
      driver.updateUri({ account: other, agentId, uri: hijack }),
      coded('E_ONCHAIN_NOT_AUTHORIZED', { error: 'NotAuthorized', agentId: '0', caller: other.address }),
    );
    assert.equal((await driver.resolve(agentId)).uri, next);
  });

  it('sets the agent wallet with an EIP-712 proof signed by the new wallet', async () => {
    await driver.setAgentWallet({ account: owner, agentId, wallet });
    assert.equal((await driver.resolve(agentId)).wallet, wallet.address);
    assert.equal(getAddress(await driver.getMetadata(agentId, 'agentWallet')), wallet.address);
    assert.equal((await driver.verify(agentId, { didKey: DID, wallet: wallet.address })).ok, true);
  });

  it('a wallet change signed by another key reverts and leaves the wallet as it was', async () => {
    const target = account();
    const deadline = (await chain.nextTimestamp()) + 60n;
    // `other` signs a proof claiming to be `target`.
    const signature = await proof({ wallet: { ...other, address: target.address }, agentId, deadline });
    await assert.rejects(
      driver.setAgentWalletSigned({ account: owner, agentId, wallet: target.address, deadline, signature }),
      coded('E_ONCHAIN_WALLET_SIGNATURE', { wallet: target.address }),
    );
    assert.equal((await driver.resolve(agentId)).wallet, wallet.address);
  });

  it('a proof for one agent does not set the wallet of another, nor on another registry', async () => {
    const { agentId: second } = await driver.register({ account: owner, uri: 'https://node.example/b.json' });
    const fresh = account();
    const deadline = (await chain.nextTimestamp()) + 60n;
    const proofs = [
      await proof({ wallet: fresh, agentId, deadline }),
      await proof({ wallet: fresh, agentId: second, deadline, registry: other.address }),
    ];
    for (const signature of proofs) {
      const attempt = { account: owner, agentId: second, wallet: fresh, deadline, signature };
      await assert.rejects(driver.setAgentWalletSigned(attempt), coded('E_ONCHAIN_WALLET_SIGNATURE'));
    }
    assert.equal((await driver.resolve(second)).wallet, owner.address);
  });

  it('an expired deadline reverts, and so does one more than 5 minutes ahead', async () => {
    const fresh = account();
    const now = await chain.nextTimestamp();
    const deadline = now + 60n;
    const signature = await proof({ wallet: fresh, agentId, deadline });
    clock.advance(120_000); // the proof sat around for two minutes
    await assert.rejects(
      driver.setAgentWalletSigned({ account: owner, agentId, wallet: fresh, deadline, signature }),
      coded('E_ONCHAIN_DEADLINE', { reason: 'expired', deadline: deadline.toString() }),
    );
    await assert.rejects(
      driver.setAgentWallet({
        account: owner,
        agentId,
        wallet: fresh,
        deadline: (await chain.nextTimestamp()) + 301n,
      }),
      coded('E_ONCHAIN_DEADLINE', { reason: 'too far ahead' }),
    );
    assert.equal((await driver.resolve(agentId)).wallet, wallet.address);
  });

  it('only the owner may set the wallet, even with a valid proof from the wallet', async () => {
    await assert.rejects(
      driver.setAgentWallet({ account: other, agentId, wallet: account() }),
      coded('E_ONCHAIN_NOT_AUTHORIZED'),
    );
  });

  it('transferring the agent clears its verified wallet (the new owner must prove one)', async () => {
    const { agentId: sold } = await driver.register({
      account: owner,
      uri: 'https://node.example/sold.json',
    });
    await driver.setAgentWallet({ account: owner, agentId: sold, wallet });
    const data = encodeFunctionData({
      abi: REGISTRY_ABI,
      functionName: 'transferFrom',
      args: [owner.address, other.address, sold],
    });
    assert.equal((await chain.send({ account: owner, to: driver.registry, data })).status, 'success');
    const resolved = await driver.resolve(sold);
    assert.equal(resolved.owner, other.address);
    assert.equal(resolved.wallet, '0x0000000000000000000000000000000000000000');
    assert.equal(await driver.getMetadata(sold, 'agentWallet'), '0x');
  });

  it('metadata: set by the owner, "agentWallet" reserved', async () => {
    await driver.setMetadata({ account: owner, agentId, key: 'strata:node', value: '0x01' });
    assert.equal(await driver.getMetadata(agentId, 'strata:node'), '0x01');
    await assert.rejects(
      driver.setMetadata({ account: owner, agentId, key: 'agentWallet', value: '0x01' }),
      coded('E_ONCHAIN_REVERTED', { error: 'ReservedMetadataKey', metadataKey: 'agentWallet' }),
    );
  });

  it('an agentId that was never minted is E_NOT_FOUND for reads and writes', async () => {
    await assert.rejects(driver.resolve(999n), coded('E_NOT_FOUND', { agentId: '999' }));
    await assert.rejects(
      driver.updateUri({ account: owner, agentId: 999n, uri: 'https://node.example/x.json' }),
      coded('E_NOT_FOUND', { agentId: '999' }),
    );
    await assert.rejects(driver.verify(999n, { didKey: DID }), coded('E_NOT_FOUND'));
  });

  it('bad input is refused before anything is signed or sent', async () => {
    const nonce = await chain.nonceOf(owner.address);
    for (const uri of [
      '',
      'http://node.example/a.json',
      'https://node.example/a\nb',
      'data:application/json;base64,!!',
    ]) {
      await assert.rejects(driver.register({ account: owner, uri }), coded('E_ONCHAIN_URI_INVALID'));
      await assert.rejects(
        driver.updateUri({ account: owner, agentId, uri }),
        coded('E_ONCHAIN_URI_INVALID'),
      );
    }
    await assert.rejects(
      driver.registerAgent({ account: owner, agent: { ...SCOUT, didKey: 'did:web:evil.example' } }),
      coded('E_ONCHAIN_REGISTRATION_INVALID'),
    );
    await assert.rejects(driver.resolve(-1n), coded('E_INVALID_INPUT'));
    await assert.rejects(driver.resolve(2n ** 256n), coded('E_INVALID_INPUT'));
    assert.throws(() => parseAgentId('0x10'), coded('E_INVALID_INPUT'));
    assert.throws(() => parseAgentId('-1'), coded('E_INVALID_INPUT'));
    assert.equal(parseAgentId('42'), 42n);
    assert.equal(await chain.nonceOf(owner.address), nonce);
  });

  it('used no network: no fetch, no socket', () => {
    assert.deepEqual(fetchCalls, []);
    // Pipes are the test runner's own stdio; anything network-shaped would be ours.
    const sockets = process.getActiveResourcesInfo().filter((r) => /TCP|UDP|DNS|GetAddrInfo/i.test(r));
    assert.deepEqual(sockets, []);
  });
});
