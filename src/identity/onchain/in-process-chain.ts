/**
 * @module identity/onchain/in-process-chain
 * An EVM chain inside this process (`@ethereumjs/vm`): no node, no RPC URL, no socket. Transactions
 * are signed by viem local accounts and decoded by ethereumjs, which recovers the sender from the
 * signature, so `msg.sender` is whoever holds the key, as on a real chain. Each transaction is mined
 * in a block of its own dated by the injected clock, so tests can move `block.timestamp`.
 *
 * Gas is priced at zero (base fee 0) so accounts need no funding; gas is still metered and reported.
 * State lives in memory and ends with the process.
 */
import { createBlock, type Block } from '@ethereumjs/block';
import { createCustomCommon, Hardfork, Mainnet, type Common } from '@ethereumjs/common';
import { createTxFromRLP } from '@ethereumjs/tx';
import { createAddressFromString } from '@ethereumjs/util';
import { createVM, runTx, type VM } from '@ethereumjs/vm';
import { bytesToHex, getAddress, hexToBytes, type Address } from 'viem';
import { systemClock, type Clock } from '../../kernel/index.ts';
import type { CallOptions, ChainCallResult, ChainLog, ChainReceipt, EvmChain, SendOptions } from './chain.ts';

export interface InProcessChainOptions {
  /** @default 31337 (the usual local-development id, so proofs signed here are useless on live chains) */
  chainId?: number;
  /** Block timestamps come from it. @default systemClock */
  clock?: Clock;
  /** Per transaction. @default 15_000_000 */
  gasLimit?: bigint;
}

const BLOCK_GAS_LIMIT = 30_000_000n;

/** An in-memory EVM chain; create it with {@link InProcessChain.create}. */
export class InProcessChain implements EvmChain {
  readonly chainId: number;
  readonly #vm: VM;
  readonly #common: Common;
  readonly #clock: Clock;
  readonly #gasLimit: bigint;
  #blockNumber = 0n;
  #lastTimestamp = 0n;
  // Transactions run one at a time: nonces are read, signed and applied without interleaving.
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(init: { vm: VM; common: Common; chainId: number; clock: Clock; gasLimit: bigint }) {
    this.#vm = init.vm;
    this.#common = init.common;
    this.chainId = init.chainId;
    this.#clock = init.clock;
    this.#gasLimit = init.gasLimit;
  }

  /** Starts an empty chain (genesis state only). */
  static async create(options: InProcessChainOptions = {}): Promise<InProcessChain> {
    const chainId = options.chainId ?? 31337;
    const common = createCustomCommon({ chainId }, Mainnet, { hardfork: Hardfork.Cancun });
    const vm = await createVM({ common });
    const clock = options.clock ?? systemClock;
    return new InProcessChain({ vm, common, chainId, clock, gasLimit: options.gasLimit ?? 15_000_000n });
  }

  /** The account's next nonce (how many transactions it has sent). */
  async nonceOf(address: Address): Promise<bigint> {
    const account = await this.#vm.stateManager.getAccount(createAddressFromString(address));
    return account?.nonce ?? 0n;
  }

  async nextTimestamp(): Promise<bigint> {
    return Promise.resolve(this.#timestamp());
  }

  send(options: SendOptions): Promise<ChainReceipt> {
    const run = this.#queue.then(() => this.#send(options));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async call(options: CallOptions): Promise<ChainCallResult> {
    const state = this.#vm.stateManager;
    // runCall commits what it touches; a checkpoint reverted afterwards keeps calls read-only.
    await state.checkpoint();
    try {
      const result = await this.#vm.evm.runCall({
        to: createAddressFromString(options.to),
        caller: createAddressFromString(options.from ?? '0x0000000000000000000000000000000000000000'),
        data: hexToBytes(options.data),
        gasLimit: this.#gasLimit,
        block: this.#block(this.#blockNumber + 1n, this.#timestamp()),
      });
      const returnData = bytesToHex(result.execResult.returnValue);
      return { status: result.execResult.exceptionError ? 'reverted' : 'success', returnData };
    } finally {
      await state.revert();
    }
  }

  async #send(options: SendOptions): Promise<ChainReceipt> {
    const { account } = options;
    const serialized = await account.signTransaction({
      type: 'eip1559',
      chainId: this.chainId,
      nonce: Number(await this.nonceOf(account.address)),
      to: options.to ?? null,
      data: options.data,
      gas: this.#gasLimit,
      maxFeePerGas: 0n,
      maxPriorityFeePerGas: 0n,
      value: 0n,
    });
    const tx = createTxFromRLP(hexToBytes(serialized), { common: this.#common });
    const number = this.#blockNumber + 1n;
    const result = await runTx(this.#vm, { tx, block: this.#block(number, this.#timestamp()) });
    this.#blockNumber = number;
    const reverted = result.execResult.exceptionError !== undefined;
    const receipt: ChainReceipt = {
      transactionHash: bytesToHex(tx.hash()),
      blockNumber: number,
      from: getAddress(tx.getSenderAddress().toString()),
      status: reverted ? 'reverted' : 'success',
      gasUsed: result.totalGasSpent,
      logs: result.receipt.logs.map(toChainLog),
    };
    if (reverted) receipt.revertData = bytesToHex(result.execResult.returnValue);
    if (!reverted && result.createdAddress)
      receipt.contractAddress = getAddress(result.createdAddress.toString());
    return receipt;
  }

  /** Never earlier than the previous block: a clock set back must not make time run backwards onchain. */
  #timestamp(): bigint {
    const now = BigInt(Math.floor(this.#clock.now() / 1000));
    if (now > this.#lastTimestamp) this.#lastTimestamp = now;
    return this.#lastTimestamp;
  }

  #block(number: bigint, timestamp: bigint): Block {
    return createBlock(
      { header: { number, timestamp, gasLimit: BLOCK_GAS_LIMIT, baseFeePerGas: 0n } },
      { common: this.#common, skipConsensusFormatValidation: true },
    );
  }
}

function toChainLog([address, topics, data]: [Uint8Array, Uint8Array[], Uint8Array]): ChainLog {
  return {
    address: getAddress(bytesToHex(address)),
    topics: topics.map((t) => bytesToHex(t)) as ChainLog['topics'],
    data: bytesToHex(data),
  };
}
