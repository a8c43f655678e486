/**
 * @module identity/onchain/chain
 * The small EVM contract the onchain identity driver needs: deploy, send a signed transaction, call.
 *
 * Glossary:
 * - **account**: a viem local account (private key in memory); it signs every transaction it sends.
 * - **receipt**: what a mined transaction left: status, logs, and revert data when it failed.
 * - **revert data**: the ABI-encoded error a contract returned (`NotAuthorized(…)`), decoded by callers.
 *
 * {@link InProcessChain} implements it on an in-process EVM; a JSON-RPC chain could implement it later
 * without the driver changing.
 */
import type { Address, Hex, LocalAccount } from 'viem';

/** One event log, in the shape viem's `decodeEventLog` takes. */
export interface ChainLog {
  address: Address;
  topics: [Hex, ...Hex[]] | [];
  data: Hex;
}

/** A mined transaction. A reverted one keeps its nonce and gas but none of its state changes. */
export interface ChainReceipt {
  transactionHash: Hex;
  blockNumber: bigint;
  from: Address;
  status: 'success' | 'reverted';
  gasUsed: bigint;
  logs: ChainLog[];
  /** Set for a successful deployment. */
  contractAddress?: Address;
  /** The contract's ABI-encoded error when `status` is `reverted` (`0x` when it gave none). */
  revertData?: Hex;
}

/** A read-only call's outcome; a call never changes state. */
export interface ChainCallResult {
  status: 'success' | 'reverted';
  returnData: Hex;
}

export interface SendOptions {
  account: LocalAccount;
  /** Omit to deploy `data` as init code. */
  to?: Address;
  data: Hex;
}

export interface CallOptions {
  to: Address;
  data: Hex;
  from?: Address;
}

/** An EVM chain the driver can write to and read from. */
export interface EvmChain {
  readonly chainId: number;
  /** Signs `data` with the account's key and mines it in a block of its own. */
  send(options: SendOptions): Promise<ChainReceipt>;
  call(options: CallOptions): Promise<ChainCallResult>;
  /** The timestamp (seconds) the next block will carry, to date EIP-712 deadlines. */
  nextTimestamp(): Promise<bigint>;
}
