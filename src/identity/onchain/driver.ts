/**
 * @module identity/onchain/driver
 * The onchain identity driver: registers Strata agents in an ERC-8004 identity registry, updates their
 * URI, attaches a verified wallet (EIP-712), resolves an agentId and verifies it against the agent's
 * did:key and cards. Bad input is refused before anything is signed or sent; a contract refusal
 * becomes a StrataError with a stable code (see `registryRevertError`).
 *
 * No network by default: data: URIs resolve locally, and reading an https/ipfs registration file
 * needs a `fetchRegistration` the caller supplies.
 */
import {
  decodeEventLog,
  decodeFunctionResult,
  encodeFunctionData,
  type Address,
  type Hex,
  type LocalAccount,
} from 'viem';
import { StrataError, isStrataError } from '../../kernel/index.ts';
import type { ChainReceipt, EvmChain } from './chain.ts';
import {
  agentRegistryId,
  assertAgentUri,
  buildRegistrationFile,
  decodeDataUri,
  parseRegistrationFile,
  registrationToDataUri,
  type RegistrationFile,
  type StrataRegistrationInput,
} from './registration.ts';
import {
  REGISTRY_ABI,
  REGISTRY_BYTECODE,
  registryRevertError,
  signAgentWalletProof,
} from './registry-contract.ts';
import { domainProofUrl, judgeDomainProof } from './domain-proof.ts';
import {
  judgeAgent,
  type ResolvedAgent,
  type VerifyCheck,
  type VerifyExpectations,
  type VerifyReport,
} from './verify.ts';

/** Reads an https/ipfs registration file; returns its parsed JSON. */
export type RegistrationFetcher = (uri: string) => Promise<unknown>;

export interface OnchainIdentityDriverOptions {
  chain: EvmChain;
  /** The deployed registry's address. */
  registry: Address;
  /** Needed only to verify agents whose URI is not a data: URI. @default none (no network) */
  fetchRegistration?: RegistrationFetcher;
}

export interface RegisterResult {
  agentId: bigint;
  owner: Address;
  uri: string;
  transactionHash: Hex;
}

export interface SetAgentWalletOptions {
  /** The agent's owner (or an approved operator); sends the transaction. */
  account: LocalAccount;
  agentId: bigint;
  /** The new wallet; it signs the EIP-712 proof. */
  wallet: LocalAccount;
  /** Unix seconds. @default the next block's timestamp + 120 */
  deadline?: bigint;
}

const MAX_UINT256 = 2n ** 256n - 1n;
const DEFAULT_DEADLINE_AHEAD = 120n;

/** Registers, updates, resolves and verifies agents in one ERC-8004 identity registry. */
export class OnchainIdentityDriver {
  readonly name = 'erc8004';
  readonly chain: EvmChain;
  readonly registry: Address;
  readonly #fetch: RegistrationFetcher | undefined;

  constructor(options: OnchainIdentityDriverOptions) {
    this.chain = options.chain;
    this.registry = options.registry;
    this.#fetch = options.fetchRegistration;
  }

  /** Deploys the committed registry bytecode and returns a driver bound to it. */
  static async deploy(
    options: Omit<OnchainIdentityDriverOptions, 'registry'> & { deployer: LocalAccount },
  ): Promise<OnchainIdentityDriver> {
    const receipt = await options.chain.send({ account: options.deployer, data: REGISTRY_BYTECODE });
    if (receipt.status !== 'success' || !receipt.contractAddress)
      throw registryRevertError(receipt.revertData, 'deploy');
    return new OnchainIdentityDriver({ ...options, registry: receipt.contractAddress });
  }

  /** `eip155:<chainId>:<registry>`, as written in registration files' `registrations`. */
  get agentRegistry(): string {
    return agentRegistryId(this.chain.chainId, this.registry);
  }

  /** Mints an agentId to the account with the given URI (https, ipfs or a JSON data: URI). */
  async register(options: { account: LocalAccount; uri: string }): Promise<RegisterResult> {
    assertAgentUri(options.uri);
    const receipt = await this.#write(
      options.account,
      { functionName: 'register', args: [options.uri] },
      'register',
    );
    return { ...this.#registered(receipt), uri: options.uri, transactionHash: receipt.transactionHash };
  }

  /**
   * Registers a Strata agent the way the spec describes: mint first, then write a registration file
   * (as a data: URI) whose `registrations` names the new id, so the file and the id point at each other.
   */
  async registerAgent(options: {
    account: LocalAccount;
    agent: StrataRegistrationInput;
  }): Promise<RegisterResult & { registration: RegistrationFile }> {
    buildRegistrationFile(options.agent); // refuse bad input before minting anything
    const minted = await this.#write(options.account, { functionName: 'register', args: [] }, 'register');
    const { agentId, owner } = this.#registered(minted);
    const registrations = [
      ...(options.agent.registrations ?? []),
      { agentId, agentRegistry: this.agentRegistry },
    ];
    const registration = buildRegistrationFile({ ...options.agent, registrations });
    const uri = registrationToDataUri(registration);
    const updated = await this.updateUri({ account: options.account, agentId, uri });
    return { agentId, owner, uri, registration, transactionHash: updated.transactionHash };
  }

  /** Points the agent at a new URI; only its owner or an approved operator may. */
  async updateUri(options: {
    account: LocalAccount;
    agentId: bigint;
    uri: string;
  }): Promise<{ transactionHash: Hex }> {
    const agentId = checkAgentId(options.agentId);
    assertAgentUri(options.uri);
    const call = { functionName: 'setAgentURI', args: [agentId, options.uri] };
    const receipt = await this.#write(options.account, call, 'setAgentURI');
    return { transactionHash: receipt.transactionHash };
  }

  /** Attaches a payment wallet that proves itself with an EIP-712 signature over (agentId, wallet, owner, deadline). */
  async setAgentWallet(options: SetAgentWalletOptions): Promise<{ transactionHash: Hex; deadline: bigint }> {
    const agentId = checkAgentId(options.agentId);
    const { owner } = await this.resolve(agentId);
    const deadline = options.deadline ?? (await this.chain.nextTimestamp()) + DEFAULT_DEADLINE_AHEAD;
    const signature = await signAgentWalletProof({
      wallet: options.wallet,
      agentId,
      owner,
      deadline,
      chainId: this.chain.chainId,
      registry: this.registry,
    });
    return { ...(await this.setAgentWalletSigned({ ...options, signature, deadline })), deadline };
  }

  /** Like {@link setAgentWallet} with a proof the wallet's holder signed elsewhere. */
  async setAgentWalletSigned(options: {
    account: LocalAccount;
    agentId: bigint;
    wallet: Address | LocalAccount;
    deadline: bigint;
    signature: Hex;
  }): Promise<{ transactionHash: Hex }> {
    const wallet = typeof options.wallet === 'string' ? options.wallet : options.wallet.address;
    const args = [checkAgentId(options.agentId), wallet, options.deadline, options.signature];
    const receipt = await this.#write(
      options.account,
      { functionName: 'setAgentWallet', args },
      'setAgentWallet',
    );
    return { transactionHash: receipt.transactionHash };
  }

  /** Owner, URI and verified wallet of an agent; E_NOT_FOUND when the id was never minted. */
  async resolve(agentIdInput: bigint): Promise<ResolvedAgent> {
    const agentId = checkAgentId(agentIdInput);
    const owner = (await this.#read('ownerOf', [agentId])) as Address;
    const uri = (await this.#read('tokenURI', [agentId])) as string;
    const wallet = (await this.#read('getAgentWallet', [agentId])) as Address;
    return { agentId, owner, uri, wallet };
  }

  /** Reads and validates the registration file an agent URI points at. */
  async readRegistration(uri: string): Promise<RegistrationFile> {
    if (uri === '')
      throw new StrataError('E_ONCHAIN_REGISTRATION_INVALID', 'the agent has no URI yet', { issues: [] });
    if (uri.startsWith('data:')) return parseRegistrationFile(decodeDataUri(uri));
    if (!this.#fetch) {
      throw new StrataError('E_ONCHAIN_URI_UNRESOLVED', 'reading this URI needs a fetchRegistration', {
        uri,
      });
    }
    return parseRegistrationFile(await this.#fetch(uri));
  }

  /** Checks the agent's file names this registry entry, its did:key and Strata's cards (see verify.ts). */
  async verify(agentId: bigint, expected: VerifyExpectations): Promise<VerifyReport> {
    const agent = await this.resolve(agentId);
    let registration: RegistrationFile | { error: string };
    try {
      registration = await this.readRegistration(agent.uri);
    } catch (error) {
      if (!isStrataError(error)) throw error;
      registration = { error: `${error.code}: ${error.message}` };
    }
    return judgeAgent({ agent, agentRegistry: this.agentRegistry, expected, registration });
  }

  /**
   * Checks `https://<domain>/.well-known/agent-registration.json` lists the agent (ERC-8004's optional
   * endpoint-domain proof). Reads through `fetchRegistration`; without one, E_ONCHAIN_URI_UNRESOLVED.
   */
  async verifyDomain(agentIdInput: bigint, domain: string): Promise<VerifyCheck> {
    const agentId = checkAgentId(agentIdInput);
    const url = domainProofUrl(domain);
    if (!this.#fetch) {
      throw new StrataError('E_ONCHAIN_URI_UNRESOLVED', 'a domain proof needs a fetchRegistration', {
        uri: url,
      });
    }
    await this.resolve(agentId); // E_NOT_FOUND before any fetch for an id that does not exist
    return judgeDomainProof(await this.#fetch(url), { domain, agentId, agentRegistry: this.agentRegistry });
  }

  /** A metadata value (empty `0x` when unset). "agentWallet" holds the verified wallet. */
  async getMetadata(agentId: bigint, key: string): Promise<Hex> {
    return (await this.#read('getMetadata', [checkAgentId(agentId), key])) as Hex;
  }

  /** Sets a metadata value; "agentWallet" is reserved for setAgentWallet. */
  async setMetadata(options: {
    account: LocalAccount;
    agentId: bigint;
    key: string;
    value: Hex;
  }): Promise<void> {
    const args = [checkAgentId(options.agentId), options.key, options.value];
    await this.#write(options.account, { functionName: 'setMetadata', args }, 'setMetadata');
  }

  async #write(
    account: LocalAccount,
    call: { functionName: string; args: readonly unknown[] },
    action: string,
  ): Promise<ChainReceipt> {
    const data = encodeFunctionData({ abi: REGISTRY_ABI, functionName: call.functionName, args: call.args });
    const receipt = await this.chain.send({ account, to: this.registry, data });
    if (receipt.status !== 'success') throw registryRevertError(receipt.revertData, action);
    return receipt;
  }

  async #read(functionName: string, args: readonly unknown[]): Promise<unknown> {
    const data = encodeFunctionData({ abi: REGISTRY_ABI, functionName, args });
    const result = await this.chain.call({ to: this.registry, data });
    if (result.status !== 'success') throw registryRevertError(result.returnData, functionName);
    return decodeFunctionResult({ abi: REGISTRY_ABI, functionName, data: result.returnData });
  }

  #registered(receipt: ChainReceipt): { agentId: bigint; owner: Address } {
    for (const log of receipt.logs) {
      try {
        const event = decodeEventLog({ abi: REGISTRY_ABI, topics: log.topics, data: log.data });
        if (event.eventName === 'Registered') {
          const args = event.args as unknown as { agentId: bigint; owner: Address };
          return { agentId: args.agentId, owner: args.owner };
        }
      } catch {
        // Not one of the registry's events (cannot happen for its own logs); keep looking.
      }
    }
    throw new StrataError('E_INTERNAL', 'the registry emitted no Registered event', {
      tx: receipt.transactionHash,
    });
  }
}

/** An agentId is a uint256; anything else is refused before a transaction is built. */
function checkAgentId(agentId: bigint): bigint {
  if (typeof agentId !== 'bigint' || agentId < 0n || agentId > MAX_UINT256) {
    throw new StrataError('E_INVALID_INPUT', 'agentId must be a uint256 (a bigint ≥ 0)', {
      issues: [{ path: ['agentId'], message: 'not a uint256' }],
    });
  }
  return agentId;
}

/** Parses an agentId from text (CLI, syscalls): decimal digits only. */
export function parseAgentId(text: string): bigint {
  if (!/^\d{1,78}$/.test(text)) {
    throw new StrataError('E_INVALID_INPUT', 'agentId must be decimal digits', {
      issues: [{ path: ['agentId'], message: 'not a decimal integer' }],
    });
  }
  return checkAgentId(BigInt(text));
}
