import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFunctionResult, encodeFunctionData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { ManualClock } from '../../kernel/index.ts';
import { InProcessChain } from './in-process-chain.ts';
import { REGISTRY_ABI, REGISTRY_BYTECODE } from './registry-contract.ts';

/** A fresh chain with the registry deployed by alice (her nonce is then 1). */
async function withRegistry() {
  const chain = await InProcessChain.create();
  const alice = privateKeyToAccount(generatePrivateKey());
  const { contractAddress: to } = await chain.send({ account: alice, data: REGISTRY_BYTECODE });
  assert.ok(to);
  return { chain, alice, to };
}

describe('in-process chain', () => {
  it('the sender is recovered from the signature; nonces count; calls never change state', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const chain = await InProcessChain.create({ clock, chainId: 4242 });
    const alice = privateKeyToAccount(generatePrivateKey());
    const deployed = await chain.send({ account: alice, data: REGISTRY_BYTECODE });
    assert.equal(deployed.from, alice.address);
    assert.equal(deployed.status, 'success');
    const to = deployed.contractAddress;
    assert.ok(to);
    assert.equal(await chain.nonceOf(alice.address), 1n);

    const register = encodeFunctionData({
      abi: REGISTRY_ABI,
      functionName: 'register',
      args: ['https://a.example/r.json'],
    });
    // As a call, register "succeeds" but leaves nothing behind.
    assert.equal((await chain.call({ to, data: register, from: alice.address })).status, 'success');
    const ownerOf = encodeFunctionData({ abi: REGISTRY_ABI, functionName: 'ownerOf', args: [0n] });
    assert.equal((await chain.call({ to, data: ownerOf })).status, 'reverted');

    const mined = await chain.send({ account: alice, to, data: register });
    assert.equal(mined.blockNumber, 2n);
    const owner = await chain.call({ to, data: ownerOf });
    assert.equal(
      decodeFunctionResult({ abi: REGISTRY_ABI, functionName: 'ownerOf', data: owner.returnData }),
      alice.address,
    );

    // The contract sees this chain's id (EIP-712 proofs are bound to it) and the clock's time.
    const domain = await chain.call({
      to,
      data: encodeFunctionData({ abi: REGISTRY_ABI, functionName: 'eip712Domain' }),
    });
    const [, , , chainId] = decodeFunctionResult({
      abi: REGISTRY_ABI,
      functionName: 'eip712Domain',
      data: domain.returnData,
    }) as readonly unknown[];
    assert.equal(chainId, 4242n);
    assert.equal(await chain.nextTimestamp(), BigInt(Date.UTC(2026, 0, 1) / 1000));
    clock.set(0); // a clock set back never makes block time run backwards
    assert.equal(await chain.nextTimestamp(), BigInt(Date.UTC(2026, 0, 1) / 1000));
  });

  it('a reverted transaction keeps its nonce, reports revert data and changes no state', async () => {
    const { chain, alice, to } = await withRegistry();
    const data = encodeFunctionData({
      abi: REGISTRY_ABI,
      functionName: 'setAgentURI',
      args: [0n, 'https://x.example'],
    });
    const receipt = await chain.send({ account: alice, to, data });
    assert.equal(receipt.status, 'reverted');
    assert.match(receipt.revertData ?? '', /^0x[0-9a-f]{8}/);
    assert.deepEqual(receipt.logs, []);
    assert.equal(await chain.nonceOf(alice.address), 2n);
  });

  it('concurrent sends from one account are serialised: every nonce used once', async () => {
    const { chain, alice, to } = await withRegistry();
    const data = encodeFunctionData({
      abi: REGISTRY_ABI,
      functionName: 'register',
      args: ['https://a.example/r.json'],
    });
    const receipts = await Promise.all(
      Array.from({ length: 8 }, () => chain.send({ account: alice, to, data })),
    );
    assert.deepEqual(
      receipts.map((r) => r.status),
      Array(8).fill('success'),
    );
    assert.equal(await chain.nonceOf(alice.address), 9n);
  });
});
