/**
 * @module identity/onchain
 * Onchain agent identity: an ERC-8004 identity registry written from the spec (compiled offline with
 * the npm `solc` package; the artifact is committed), run on an in-process EVM, and a driver that
 * registers Strata agents, updates their URI, attaches an EIP-712-verified wallet, resolves and
 * verifies them. No network: no RPC URL, and registration files travel as data: URIs.
 *
 * @example
 * ```ts
 * const chain = await InProcessChain.create();
 * const driver = await OnchainIdentityDriver.deploy({ chain, deployer: operator });
 * const { agentId } = await driver.registerAgent({
 *   account: owner,
 *   agent: { name: 'Scout', description: 'Finds things', didKey, a2aCardUrl, mcpServerCardUrl },
 * });
 * const report = await driver.verify(agentId, { didKey, a2aCardUrl, mcpServerCardUrl });
 * ```
 *
 * Any new export added here becomes public API.
 */
export type { CallOptions, ChainCallResult, ChainLog, ChainReceipt, EvmChain, SendOptions } from './chain.ts';
export { InProcessChain, type InProcessChainOptions } from './in-process-chain.ts';
export {
  OnchainIdentityDriver,
  parseAgentId,
  type OnchainIdentityDriverOptions,
  type RegisterResult,
  type RegistrationFetcher,
  type SetAgentWalletOptions,
} from './driver.ts';
export {
  DOMAIN_PROOF_PATH,
  agentRegistrationRoutes,
  domainProofUrl,
  judgeDomainProof,
} from './domain-proof.ts';
export {
  A2A_VERSION,
  REGISTRATION_TYPE,
  agentRegistryId,
  assertAgentUri,
  buildRegistrationFile,
  decodeDataUri,
  parseRegistrationFile,
  registrationToDataUri,
  type RegistrationFile,
  type RegistrationRef,
  type RegistrationService,
  type StrataRegistrationInput,
} from './registration.ts';
export {
  EIP712_NAME,
  EIP712_VERSION,
  MAX_DEADLINE_DELAY,
  REGISTRY_ABI,
  REGISTRY_BUILD,
  REGISTRY_BYTECODE,
  signAgentWalletProof,
  type WalletProofOptions,
} from './registry-contract.ts';
export type {
  ResolvedAgent,
  VerifyCheck,
  VerifyCheckName,
  VerifyExpectations,
  VerifyReport,
} from './verify.ts';
