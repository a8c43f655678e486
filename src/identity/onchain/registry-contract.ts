/**
 * @module identity/onchain/registry-contract
 * The compiled ERC-8004 identity registry (committed artifact, so the runtime needs no compiler), the
 * EIP-712 wallet proof, and the mapping of the contract's custom errors to Strata error codes.
 */
import { BaseError, decodeErrorResult, type Abi, type Address, type Hex, type LocalAccount } from 'viem';
import { StrataError, type StrataErrorCode } from '../../kernel/index.ts';
import artifact from './registry-artifact.json' with { type: 'json' };

export const REGISTRY_ABI = artifact.abi as Abi;
export const REGISTRY_BYTECODE = artifact.bytecode as Hex;
/** solc version and settings the committed bytecode came from. */
export const REGISTRY_BUILD = { compiler: artifact.compiler, settings: artifact.settings } as const;

/** The EIP-712 domain name and version the registry signs under (ERC-8004's reference values). */
export const EIP712_NAME = 'ERC8004IdentityRegistry';
export const EIP712_VERSION = '1';
/** How far ahead the contract accepts a wallet proof's deadline, in seconds. */
export const MAX_DEADLINE_DELAY = 300n;

const WALLET_TYPES = {
  AgentWalletSet: [
    { name: 'agentId', type: 'uint256' },
    { name: 'newWallet', type: 'address' },
    { name: 'owner', type: 'address' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export interface WalletProofOptions {
  /** The wallet being attached; it signs, proving its holder agrees. */
  wallet: LocalAccount;
  agentId: bigint;
  /** The agent's current owner (the proof names it, so it cannot be replayed after a transfer). */
  owner: Address;
  /** Unix seconds; at most {@link MAX_DEADLINE_DELAY} after the block that includes it. */
  deadline: bigint;
  chainId: number;
  registry: Address;
}

/** Signs the EIP-712 AgentWalletSet message the registry's `setAgentWallet` checks. */
export async function signAgentWalletProof(options: WalletProofOptions): Promise<Hex> {
  const sign = options.wallet.signTypedData;
  if (!sign) throw new StrataError('E_INVALID_INPUT', 'the wallet account cannot sign typed data');
  return sign({
    domain: {
      name: EIP712_NAME,
      version: EIP712_VERSION,
      chainId: options.chainId,
      verifyingContract: options.registry,
    },
    types: WALLET_TYPES,
    primaryType: 'AgentWalletSet',
    message: {
      agentId: options.agentId,
      newWallet: options.wallet.address,
      owner: options.owner,
      deadline: options.deadline,
    },
  });
}

const ERROR_CODES: Record<string, StrataErrorCode> = {
  AgentNotFound: 'E_NOT_FOUND',
  NotAuthorized: 'E_ONCHAIN_NOT_AUTHORIZED',
  InvalidWalletSignature: 'E_ONCHAIN_WALLET_SIGNATURE',
  DeadlineExpired: 'E_ONCHAIN_DEADLINE',
  DeadlineTooFar: 'E_ONCHAIN_DEADLINE',
};

// Names the data fields after the contract error's own parameters (agentId, caller, deadline…).
const ARG_NAMES: Record<string, string[]> = {
  AgentNotFound: ['agentId'],
  NotAuthorized: ['agentId', 'caller'],
  InvalidWalletSignature: ['wallet'],
  DeadlineExpired: ['deadline', 'timestamp'],
  DeadlineTooFar: ['deadline', 'maxDeadline'],
  ReservedMetadataKey: ['metadataKey'],
};

/** Turns a registry revert into a StrataError with a stable code; bigints become decimal strings. */
export function registryRevertError(revertData: Hex | undefined, action: string): StrataError {
  let name = 'unknown';
  let args: readonly unknown[] = [];
  try {
    const decoded = decodeErrorResult({ abi: REGISTRY_ABI, data: revertData ?? '0x' });
    name = decoded.errorName;
    args = decoded.args ?? [];
  } catch (cause) {
    if (!(cause instanceof BaseError)) throw cause;
  }
  const data: Record<string, unknown> = { error: name, action };
  const names = ARG_NAMES[name] ?? args.map((_, i) => `arg${i}`);
  args.forEach((value, i) => {
    data[names[i] ?? `arg${i}`] = typeof value === 'bigint' ? value.toString() : value;
  });
  if (name === 'DeadlineExpired') data['reason'] = 'expired';
  if (name === 'DeadlineTooFar') data['reason'] = 'too far ahead';
  const code = ERROR_CODES[name] ?? 'E_ONCHAIN_REVERTED';
  return new StrataError(code, `${action}: the registry refused (${name})`, data);
}
