/**
 * @module identity/delegation
 * Delegation with proof of possession, UCAN-shaped: delegations and invocations use the UCAN 1.0
 * field names and rules (iss/aud/sub/cmd/pol/nonce/exp/nbf; command-prefix attenuation by whole
 * segments; policy predicates over the invocation's arguments), but they are compact JWS (EdDSA,
 * JSON payloads), **not the UCAN 1.0 wire format** (no DAG-CBOR, varsig or CIDs; link ids are
 * `sha256:<hex>` of the JWS). An invocation is signed by the invoker's own key and carries its proof
 * chain, so a stolen delegation alone is useless; nonces are used once; revoking a link refuses every
 * chain through it; `explain()` names the rule that allowed or refused. Any new export added here
 * becomes public API.
 *
 * @example
 * const delegations = await Delegations.open({ store, clock });
 * const { jws } = await signDelegation(aliceSigner, { aud: bob.did, sub: alice.did, cmd: '/crypto',
 *   pol: [['<=', '.args.amount', 100]], nonce, exp });
 * const invocation = await signInvocation(bobSigner, { sub: alice.did, cmd: '/crypto/sign',
 *   args: { amount: 5 }, nonce, iat, exp, prf: [jws] });
 * await delegations.invoke(tenantId, invocation); // or explain(tenantId, invocation)
 */
export {
  checkInvocation,
  MAX_INVOCATION_TTL_SECONDS,
  type ChainContext,
  type LinkView,
  type VerifiedInvocation,
} from './chain.ts';
export { commandCovers, isCommand, parseCommand } from './command.ts';
export { Delegations, type DelegationsOptions, type Explanation } from './delegations.ts';
export { DELEGATION_LAYER, delegationMigrations } from './migrations.ts';
export {
  droppedStatement,
  failingStatement,
  holds,
  parsePolicy,
  type Policy,
  type Statement,
} from './policy.ts';
export { delegationSyscalls } from './syscalls.ts';
export {
  DELEGATION_TYPE,
  INVOCATION_TYPE,
  linkId,
  MAX_PROOFS,
  openDelegation,
  openInvocation,
  signDelegation,
  signInvocation,
  type DelegationClaims,
  type DidSigner,
  type InvocationClaims,
  type LinkRef,
} from './tokens.ts';
