/**
 * @module kernel/errors
 * One error family for all of Strata. Every error carries a stable string code; the code, not the
 * message, is the contract (tests match codes, clients branch on codes). HTTP statuses and CLI exit
 * codes are derived from the code in exactly one place: {@link ERROR_CODES}.
 *
 * Identify errors with {@link isStrataError} (a brand), not `instanceof`: a second copy of this
 * package or a sandbox realm breaks prototype checks.
 */

/** Exit codes the CLI uses; documented in the README. */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  notFound: 3,
  denied: 4,
  conflict: 5,
  budget: 6,
  timeout: 7,
  unavailable: 8,
} as const;

interface CodeInfo {
  readonly http: number;
  readonly exit: number;
  /** Whether retrying the same call may succeed. */
  readonly retryable: boolean;
  readonly description: string;
}

const code = (http: number, exit: number, retryable: boolean, description: string): CodeInfo => ({
  http,
  exit,
  retryable,
  description,
});

/** The table of every stable error code. Add new codes here, nowhere else. */
export const ERROR_CODES = {
  E_INTERNAL: code(500, EXIT.internal, false, 'A bug or an unexpected failure inside Strata.'),
  E_CONFIG: code(500, EXIT.usage, false, 'Configuration is invalid; data names the bad key.'),
  E_BAD_REQUEST: code(400, EXIT.usage, false, 'The request is malformed (e.g. not JSON).'),
  E_INVALID_INPUT: code(400, EXIT.usage, false, 'Input does not match the schema; data.issues lists paths.'),
  E_PAYLOAD_TOO_LARGE: code(413, EXIT.usage, false, 'The request body exceeds the configured limit.'),
  E_UNKNOWN_SYSCALL: code(404, EXIT.notFound, false, 'No syscall is registered under that name.'),
  E_NOT_FOUND: code(404, EXIT.notFound, false, 'The object does not exist in the caller’s tenant.'),
  E_UNAUTHENTICATED: code(401, EXIT.denied, false, 'Missing or invalid API key or token.'),
  E_CAPABILITY_DENIED: code(403, EXIT.denied, false, 'No capability grants this syscall on this resource.'),
  E_TOKEN_INVALID: code(401, EXIT.denied, false, 'The capability token is malformed or its signature fails.'),
  E_TOKEN_EXPIRED: code(401, EXIT.denied, false, 'The capability token (or an ancestor) has expired.'),
  E_TOKEN_REVOKED: code(401, EXIT.denied, false, 'The capability token (or an ancestor) was revoked.'),
  E_ATTENUATION: code(403, EXIT.denied, false, 'A derived token may only narrow its parent’s grants.'),
  E_CSRF: code(403, EXIT.denied, false, 'A dashboard write without its CSRF token or from another origin.'),
  E_CONFLICT: code(409, EXIT.conflict, false, 'A uniqueness or state conflict.'),
  E_BUDGET_EXCEEDED: code(402, EXIT.budget, false, 'The budget does not cover this call.'),
  E_SYSCALL_TIMEOUT: code(504, EXIT.timeout, true, 'The syscall did not finish within its timeout.'),
  E_UNAVAILABLE: code(503, EXIT.unavailable, true, 'A dependency is temporarily unavailable.'),
  E_SHUTTING_DOWN: code(503, EXIT.unavailable, true, 'The server is draining and takes no new calls.'),
  E_STORE: code(500, EXIT.internal, false, 'The store failed; cause holds the driver error.'),
  E_MIGRATION: code(500, EXIT.internal, false, 'A migration failed or the schema is newer than the code.'),
  E_UNKNOWN_WORKFLOW: code(
    404,
    EXIT.notFound,
    false,
    'No workflow (or version) is registered under that name.',
  ),
  E_NONDETERMINISM: code(
    500,
    EXIT.conflict,
    false,
    'A replay asked for a different step than the journal holds.',
  ),
  E_VERSION_UNAVAILABLE: code(
    503,
    EXIT.unavailable,
    true,
    'The workflow version a run started on is deployed nowhere; the run is parked until it is.',
  ),
  E_RUN_TIMEOUT: code(504, EXIT.timeout, false, 'The run exceeded its timeout.'),
  E_WAIT_TIMEOUT: code(
    504,
    EXIT.timeout,
    false,
    'A signal or child did not arrive before the wait timed out.',
  ),
  E_CANCELLED: code(409, EXIT.conflict, false, 'The run was cancelled.'),
  E_LEASE_LOST: code(409, EXIT.conflict, true, 'Another worker took over the run; this worker stops.'),
  E_STALE_INCARNATION: code(
    409,
    EXIT.conflict,
    false,
    'A supervised child run that is no longer the current incarnation of its child; data.current.',
  ),
  E_SUPERVISOR_INTENSITY: code(
    500,
    EXIT.internal,
    false,
    'A supervisor exceeded its restart intensity, stopped its children and failed; data.restarts, data.periodMs.',
  ),
  E_AGENT_MAX_TURNS: code(
    500,
    EXIT.internal,
    false,
    'An agent made maxTurns model calls without a final answer; data.maxTurns.',
  ),
  E_UNKNOWN_MODEL: code(
    404,
    EXIT.notFound,
    false,
    'No configured provider or route serves that model; data lists them.',
  ),
  E_MODEL_KEY_MISSING: code(
    412,
    EXIT.usage,
    false,
    'The model provider needs an API key that is not set; data.secret names the vault entry to create.',
  ),
  E_MODEL_BAD_RESPONSE: code(
    502,
    EXIT.unavailable,
    false,
    'The model provider answered with a malformed response.',
  ),
  E_MODEL_UNAVAILABLE: code(
    503,
    EXIT.unavailable,
    true,
    'The model provider failed (5xx, connection, timeout) after its retries and every fallback.',
  ),
  E_MODEL_REJECTED: code(
    502,
    EXIT.unavailable,
    false,
    'The model provider refused the request (4xx other than 429).',
  ),
  E_PROMPT_TOO_LARGE: code(413, EXIT.usage, false, 'The prompt exceeds the configured limit for this model.'),
  E_AUDIT_CHAIN_BROKEN: code(500, EXIT.conflict, false, 'The audit chain failed verification.'),
  E_INSECURE_DRIVER: code(
    403,
    EXIT.denied,
    false,
    'The sandbox driver gives no isolation and was not explicitly allowed (allowInsecure: true).',
  ),
  E_QUOTA_EXCEEDED: code(413, EXIT.usage, false, 'A sandbox workspace or resource quota would be exceeded.'),
  E_TOOL_ERROR: code(
    502,
    EXIT.unavailable,
    false,
    'A tool or its upstream service failed, or returned output that does not match its schema.',
  ),
  E_RATE_LIMITED: code(
    429,
    EXIT.unavailable,
    true,
    'A rate limit was hit; data.retryAfterMs says when to retry.',
  ),
  E_URL_NOT_ALLOWED: code(
    403,
    EXIT.denied,
    false,
    'A browser navigation, redirect or popup targets a URL outside the session allow-list; data.url names it.',
  ),
  E_SELECTOR_TIMEOUT: code(
    504,
    EXIT.timeout,
    false,
    'No element matched the selector within the timeout; data.selector names it.',
  ),
  E_NAVIGATION_FAILED: code(
    502,
    EXIT.unavailable,
    true,
    'The page could not be loaded (unreachable, failed or timed out); data.url names it.',
  ),
  E_INVALID_MONEY: code(
    400,
    EXIT.usage,
    false,
    'An amount is not a valid decimal for its currency (NaN, Infinity, negative, too many decimals); data.amount.',
  ),
  E_UNKNOWN_CURRENCY: code(400, EXIT.usage, false, 'The currency code is not an ISO 4217 code Strata knows.'),
  E_CURRENCY_MISMATCH: code(
    400,
    EXIT.usage,
    false,
    'Amounts or accounts of different currencies were mixed.',
  ),
  E_INVALID_TRANSFER: code(
    400,
    EXIT.usage,
    false,
    'A ledger transfer is malformed (same account twice, zero amount, pending not active); data.reason.',
  ),
  E_INSUFFICIENT_FUNDS: code(
    402,
    EXIT.budget,
    false,
    'The debited account would be overdrawn (pending counted).',
  ),
  E_UNKNOWN_METER: code(400, EXIT.usage, false, 'No meter of that type is defined for the tenant.'),
  E_METER_OUT_OF_WINDOW: code(
    400,
    EXIT.usage,
    false,
    'A meter event time is more than 35 days in the past or 5 minutes in the future.',
  ),
  E_INVALID_QUANTITY: code(400, EXIT.usage, false, 'A meter quantity is not a non-negative decimal string.'),
  E_NO_PRICE: code(
    402,
    EXIT.budget,
    false,
    'A metered kind has no price in effect, so new work of that kind is refused (fail closed); data.meter.',
  ),
  E_SPEND_TOKEN_INVALID: code(
    401,
    EXIT.denied,
    false,
    'The spend token is unknown, malformed or tampered with.',
  ),
  E_SPEND_TOKEN_INACTIVE: code(
    402,
    EXIT.budget,
    false,
    'The spend token is no longer active; data.deactivatedReason is consumed, expired or revoked.',
  ),
  E_SPEND_TOKEN_SCOPE: code(403, EXIT.denied, false, 'The spend token does not cover this purchase.'),
  E_SPEND_TOKEN_LIMIT: code(
    402,
    EXIT.budget,
    false,
    'The amount exceeds the spend token’s maxAmount (reserved and captured counted) or perUseMax.',
  ),
  E_UNKNOWN_RESOURCE_KIND: code(400, EXIT.usage, false, 'No resource driver of that kind is configured.'),
  E_INVALID_RESOURCE_NAME: code(
    400,
    EXIT.usage,
    false,
    'A resource name must be 1–63 bytes of lowercase letters, digits, - and _, starting with a letter.',
  ),
  E_RESOURCE_STATE: code(
    409,
    EXIT.conflict,
    false,
    'The resource is not in a state that allows this (e.g. resume after destroy); data.state.',
  ),
  E_A2A_CARD_INVALID: code(
    502,
    EXIT.unavailable,
    false,
    'A remote A2A agent card could not be fetched or is not a valid A2A 1.0 card; data.url, data.reason.',
  ),
  E_A2A_CARD_SIGNATURE: code(
    502,
    EXIT.denied,
    false,
    'A remote A2A agent card is unsigned, its key is not in its JWKS, or its signature fails; data.reason.',
  ),
  E_A2A_POP_FAILED: code(
    502,
    EXIT.denied,
    false,
    'The server answering for an A2A card did not prove it holds the card key; data.reason.',
  ),
  E_A2A_PUSH_URL_REFUSED: code(
    400,
    EXIT.usage,
    false,
    'A push notification URL is not http(s) or resolves to a private, loopback or link-local address.',
  ),
  E_A2A_REMOTE: code(
    502,
    EXIT.unavailable,
    true,
    'A remote A2A agent answered with an error or failed; data.a2aCode / data.reason when it sent one.',
  ),
  E_MCP_CARD_INVALID: code(
    502,
    EXIT.unavailable,
    false,
    'An MCP catalog or server card could not be fetched, is not JSON of its shape, or names no Streamable HTTP remote; data.url, data.reason.',
  ),
  E_MCP_CARD_MISMATCH: code(
    502,
    EXIT.conflict,
    false,
    'An MCP server card contradicts the live server (name, version, capabilities, tools, protocol); data.fields names each field, data.differences says how.',
  ),
  E_MAIL_ADDRESS_INVALID: code(
    400,
    EXIT.usage,
    false,
    'An email address is not one plain addr-spec (local@domain): CR/LF, group syntax, display names and lists are refused; data.field, data.reason.',
  ),
  E_MAIL_HEADER_INVALID: code(
    400,
    EXIT.usage,
    false,
    'A subject or display name contains CR, LF or another control character; data.field.',
  ),
  E_MAIL_TOO_LARGE: code(413, EXIT.usage, false, 'A message or attachment exceeds its size cap; data.limit.'),
  E_MAIL_LOOP: code(
    400,
    EXIT.usage,
    false,
    'A mail loop: too many hops (Received headers; data.hops, data.limit), an auto-reply storm from one sender (data.sender, data.count, data.threshold), or a reply to an automatic message (data.inReplyTo).',
  ),
  E_MAIL_SEND_FAILED: code(
    502,
    EXIT.unavailable,
    true,
    'The relay refused or did not take the message; it stays stored with status failed; data.response.',
  ),
  E_MAIL_BLOCKED: code(
    403,
    EXIT.denied,
    false,
    'A mailbox’s allow or block list refuses this sender or recipient (inbound over SMTP: 550 5.7.1); data.address, data.rule.',
  ),
  E_MAIL_SEND_CAP: code(
    429,
    EXIT.budget,
    true,
    'The mailbox reached its send cap for the window; nothing was sent or stored; data.limit, data.windowMs, data.retryAfterMs.',
  ),
  E_MAIL_SUPPRESSED: code(
    409,
    EXIT.conflict,
    false,
    'A recipient is on the suppression list (it hard-bounced or complained); nothing was sent; data.address, data.reason.',
  ),
  E_DID_RESOLUTION: code(
    502,
    EXIT.unavailable,
    false,
    'A did:web DID could not be resolved: a redirect, a private address, no answer, not JSON, or a document naming another DID; data.did, data.reason.',
  ),
  E_DELEGATION_MALFORMED: code(
    401,
    EXIT.denied,
    false,
    'A delegation or invocation is not a well-formed UCAN-shaped JWS (fields, sizes, did:key); data.link.',
  ),
  E_DELEGATION_ALG: code(
    401,
    EXIT.denied,
    false,
    'A delegation or invocation is not signed with EdDSA/Ed25519 (`alg: none`, HS256…); data.alg, data.link.',
  ),
  E_DELEGATION_SIGNATURE: code(
    401,
    EXIT.denied,
    false,
    'A delegation or invocation signature does not verify against its issuer’s did:key; data.link.',
  ),
  E_DELEGATION_CHAIN: code(
    403,
    EXIT.denied,
    false,
    'The proof chain is broken: aud→iss misaligned, sub changed, root not issued by the subject; data.rule.',
  ),
  E_DELEGATION_ATTENUATION: code(
    403,
    EXIT.denied,
    false,
    'A delegation widens its parent: a broader command or a policy missing a parent predicate; data.link.',
  ),
  E_DELEGATION_COMMAND: code(
    403,
    EXIT.denied,
    false,
    'The invoked command is not covered by the proof chain.',
  ),
  E_DELEGATION_POLICY: code(
    403,
    EXIT.denied,
    false,
    'The invocation arguments fail a policy predicate of the chain; data.link, data.predicate.',
  ),
  E_DELEGATION_EXPIRED: code(
    401,
    EXIT.denied,
    false,
    'A delegation or the invocation is expired or not yet valid (exp/nbf); data.link.',
  ),
  E_DELEGATION_REVOKED: code(401, EXIT.denied, false, 'A link of the proof chain was revoked; data.cid.'),
  E_DELEGATION_REPLAY: code(401, EXIT.denied, false, 'This invocation nonce was already used.'),
  E_DELEGATION_INVOKER: code(
    403,
    EXIT.denied,
    false,
    'The invocation is signed by someone other than the final delegation’s audience.',
  ),
  E_ONCHAIN_REVERTED: code(
    409,
    EXIT.conflict,
    false,
    'The identity registry contract refused the transaction; data.error names the contract error, data.args.',
  ),
  E_ONCHAIN_NOT_AUTHORIZED: code(
    403,
    EXIT.denied,
    false,
    'Only the agent’s owner or an approved operator may change it onchain; data.agentId, data.caller.',
  ),
  E_ONCHAIN_WALLET_SIGNATURE: code(
    403,
    EXIT.denied,
    false,
    'The agentWallet proof is not an EIP-712 AgentWalletSet signature by the new wallet; data.wallet.',
  ),
  E_ONCHAIN_DEADLINE: code(
    400,
    EXIT.usage,
    false,
    'The agentWallet proof deadline has passed or is more than 5 minutes ahead; data.deadline, data.reason.',
  ),
  E_ONCHAIN_URI_INVALID: code(
    400,
    EXIT.usage,
    false,
    'An agent URI is not https://, ipfs:// or a data:application/json URI, is too long or has control characters; data.reason.',
  ),
  E_ONCHAIN_REGISTRATION_INVALID: code(
    400,
    EXIT.usage,
    false,
    'A registration file is not ERC-8004 registration-v1 JSON (type, name, services); data.issues.',
  ),
  E_ONCHAIN_URI_UNRESOLVED: code(
    400,
    EXIT.usage,
    false,
    'The agent URI needs a network fetch and no fetcher was configured (data: URIs resolve locally); data.uri.',
  ),
  E_REPOSITORY_NOT_ALLOWED: code(
    403,
    EXIT.denied,
    false,
    'A merge queue repository path is outside the allowed roots, or is not a git repository; data.repository, data.roots.',
  ),
  E_NOT_FAST_FORWARD: code(
    409,
    EXIT.conflict,
    false,
    'The merge queue refused to move a branch: the new commit does not descend from the current one; data.branch.',
  ),
  E_PATCH_REJECTED: code(
    422,
    EXIT.conflict,
    false,
    'A patch submitted to a merge queue does not apply to its target (data.files) or is not a diff.',
  ),
  E_CHAOS_REFUSED: code(
    403,
    EXIT.denied,
    false,
    'Fault injection was asked for in production mode without chaos.force: true; nothing was changed.',
  ),
  E_REMOTE_AUTH: code(
    502, // the caller is authenticated; the remote git server refused the queue's credentials
    EXIT.denied,
    false,
    'A merge queue’s remote repository refused the credentials of its vault connection (or it has none).',
  ),
} as const satisfies Record<string, CodeInfo>;

export type StrataErrorCode = keyof typeof ERROR_CODES;

const BRAND = Symbol.for('strata.error');

export interface StrataErrorOptions {
  cause?: unknown;
  /** Overrides the code's default retryability (e.g. a store error known to be transient). */
  retryable?: boolean;
}

export class StrataError extends Error {
  readonly code: StrataErrorCode;
  readonly data: unknown;
  readonly retryable: boolean;
  readonly [BRAND] = true;

  constructor(code: StrataErrorCode, message: string, data?: unknown, options: StrataErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StrataError';
    this.code = code;
    this.data = data;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  /** The shape sent to clients: code, message, data. Never the cause or the stack. */
  toJSON(): { code: StrataErrorCode; message: string; data?: unknown } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export function isStrataError(value: unknown): value is StrataError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

export function isStrataErrorCode(value: unknown): value is StrataErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Normalises anything thrown into a StrataError; unknown throws become E_INTERNAL with the cause kept. */
export function coerceError(error: unknown): StrataError {
  if (isStrataError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StrataError('E_INTERNAL', `internal error: ${message}`, undefined, { cause: error });
}

export function httpStatusOf(error: unknown): number {
  return coerceError(error).httpStatus;
}

export function exitCodeOf(error: unknown): number {
  return coerceError(error).exitCode;
}
