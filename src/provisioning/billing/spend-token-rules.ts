/**
 * @module provisioning/billing/spend-token-rules
 * The pure part of spend tokens: their types, input checks, the scope rules (what a token covers,
 * what narrowing may ask for) and row conversion. No store, no ledger.
 *
 * Codes: bad shapes `E_INVALID_INPUT` (data.issues), amounts `E_INVALID_MONEY`, another currency
 * `E_CURRENCY_MISMATCH`, any widening `E_ATTENUATION` (data.field), an unusable token
 * `E_SPEND_TOKEN_INACTIVE` (data.deactivatedReason), a malformed secret `E_SPEND_TOKEN_INVALID`.
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../../kernel/errors.ts';
import { currencyExponent, formatMicros, parseMoney, toBig } from './money.ts';

export type SpendTokenUsage = 'single' | 'multi';
export type DeactivatedReason = 'consumed' | 'expired' | 'revoked';

/** What a token may pay for; every dimension present must match. Never empty. */
export interface SpendTokenScope {
  /** Resource kinds (`postgres`, `sandbox`, …) or syscall layers. */
  readonly kinds?: readonly string[];
  /** Price-book entries. */
  readonly priceIds?: readonly string[];
  /** One resource. */
  readonly resourceId?: string;
}

export interface IssueSpendTokenInput {
  readonly scope: SpendTokenScope;
  readonly currency: string;
  /** Decimal string in `currency`, e.g. `"5.00"`. */
  readonly maxAmount: string;
  readonly perUseMax?: string;
  /** Epoch milliseconds; at `now >= expiresAt` the token is expired. */
  readonly expiresAt: number;
  /** @default 'multi' */
  readonly usage?: SpendTokenUsage;
}

/** Omitted fields inherit the parent's; `maxAmount` defaults to the parent's remaining amount. */
export interface NarrowSpendTokenInput {
  readonly scope?: SpendTokenScope;
  /** When given, must be the parent's. */
  readonly currency?: string;
  readonly maxAmount?: string;
  readonly perUseMax?: string;
  readonly expiresAt?: number;
  readonly usage?: SpendTokenUsage;
}

export interface Purchase {
  readonly kind: string;
  readonly priceId?: string;
  readonly resourceId?: string;
}

export interface ReserveInput {
  readonly secret: string;
  /** Decimal string in the token's currency. */
  readonly amount: string;
  /** When given, must be the token's. */
  readonly currency?: string;
  readonly purchase: Purchase;
  readonly idempotencyKey: string;
}

export interface SpendTokenInfo {
  readonly id: string;
  readonly tenantId: string;
  readonly parentId: string | null;
  readonly rootId: string;
  readonly scope: SpendTokenScope;
  readonly currency: string;
  readonly maxAmount: bigint;
  readonly perUseMax?: bigint;
  readonly expiresAt: number;
  readonly usage: SpendTokenUsage;
  readonly status: 'active' | 'deactivated';
  readonly deactivatedReason?: DeactivatedReason;
  readonly deactivatedAt?: number;
  readonly note?: string;
  /** Held by pending reservations through this token or its descendants. */
  readonly reservedAmount: bigint;
  readonly capturedAmount: bigint;
  /** maxAmount − reserved − captured (ancestors may leave less); 0 once deactivated. */
  readonly remainingAmount: bigint;
  readonly createdAt: number;
}

export interface SpendReservation {
  readonly id: string;
  readonly tenantId: string;
  readonly tokenId: string;
  readonly rootId: string;
  readonly idempotencyKey: string;
  readonly currency: string;
  readonly amount: bigint;
  readonly capturedAmount: bigint;
  readonly status: 'pending' | 'captured' | 'voided' | 'expired';
  readonly purchase: Purchase;
  /** When the hold expires if neither captured nor voided. */
  readonly expiresAt: number;
  readonly createdAt: number;
  readonly resolvedAt?: number;
}

export type TokenRow = {
  id: string;
  tenant_id: string;
  secret_hash: string;
  root_id: string;
  parent_id: string | null;
  chain: string;
  depth: number;
  account_id: string;
  funding_account_id: string;
  currency: string;
  scope: string;
  max_amount: number | bigint;
  per_use_max: number | bigint | null;
  expires_at: number;
  usage: string;
  status: string;
  deactivated_reason: string | null;
  deactivated_at: number | null;
  note: string | null;
  reserved: number;
  captured: number;
  returns: number;
  created_at: number;
};

export type ReservationRow = {
  id: string;
  tenant_id: string;
  token_id: string;
  root_id: string;
  chain: string;
  idempotency_key: string;
  request_hash: string;
  amount: number;
  currency: string;
  kind: string;
  price_id: string | null;
  resource_id: string | null;
  status: string;
  captured_amount: number;
  timeout_at: number;
  created_at: number;
  resolved_at: number | null;
};

/** The columns `issue` and `narrow` decide. */
export type TokenTerms = {
  currency: string;
  scope: string;
  max_amount: bigint;
  per_use_max: bigint | null;
  expires_at: number;
  usage: SpendTokenUsage;
};

/** Longest a token may live. */
export const MAX_LIFETIME_MS = 366 * 86_400_000;
/** Most narrowing steps below a root. */
export const MAX_DEPTH = 8;
const SECRET = /^spt_[A-Za-z0-9_-]{43}$/;

/** Whether a value is meant as a secret (ids start `stok_`); a malformed one is still refused as one. */
export const looksLikeSecret = (value: string): boolean => value.startsWith('spt_');
export const isSecret = (value: unknown): boolean => typeof value === 'string' && SECRET.test(value);
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');
export const invalidToken = (): StrataError =>
  new StrataError('E_SPEND_TOKEN_INVALID', 'the spend token is unknown, malformed or tampered with');

const invalid = (path: string, message: string): StrataError =>
  new StrataError('E_INVALID_INPUT', `${path}: ${message}`, { issues: [{ path, message }] });
const widened = (field: string, message: string): StrataError =>
  new StrataError('E_ATTENUATION', `a narrowed spend token may not widen its parent: ${message}`, { field });

const text = (value: unknown, path: string, max = 200): string => {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw invalid(path, `a string of 1–${max} characters`);
  return value;
};

function list(value: unknown, path: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > 100)
    throw invalid(path, 'a non-empty list of at most 100 strings');
  return [...new Set(value.map((v, i) => text(v, `${path}.${i}`)))].sort();
}

/** Checks a scope and returns it with sorted, unique lists. */
export function checkScope(scope: unknown, path = 'scope'): SpendTokenScope {
  if (typeof scope !== 'object' || scope === null || Array.isArray(scope))
    throw invalid(path, 'an object with kinds, priceIds or resourceId');
  const s = scope as Record<string, unknown>;
  const unknown = Object.keys(s).find((k) => !['kinds', 'priceIds', 'resourceId'].includes(k));
  if (unknown) throw invalid(`${path}.${unknown}`, 'not a scope field');
  const kinds = list(s['kinds'], `${path}.kinds`);
  const priceIds = list(s['priceIds'], `${path}.priceIds`);
  const resourceId = s['resourceId'] === undefined ? undefined : text(s['resourceId'], `${path}.resourceId`);
  if (!kinds && !priceIds && resourceId === undefined)
    throw invalid(path, 'an empty scope would cover everything: name kinds, priceIds or a resourceId');
  return {
    ...(kinds ? { kinds } : {}),
    ...(priceIds ? { priceIds } : {}),
    ...(resourceId ? { resourceId } : {}),
  };
}

function checkExpiry(expiresAt: unknown, now: number): number {
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt))
    throw invalid('expiresAt', 'epoch milliseconds (an integer)');
  if (expiresAt <= now) throw invalid('expiresAt', 'must be in the future');
  if (expiresAt > now + MAX_LIFETIME_MS) throw invalid('expiresAt', 'at most 366 days ahead');
  return expiresAt;
}

function checkUsage(usage: unknown): SpendTokenUsage {
  if (usage !== 'single' && usage !== 'multi') throw invalid('usage', "'single' or 'multi'");
  return usage;
}

function positive(amount: unknown, currency: string, field: string): bigint {
  const { micros } = parseMoney(amount, currency);
  if (micros === 0n)
    throw new StrataError('E_INVALID_MONEY', `${field} must be positive`, { amount: '0', currency, field });
  return micros;
}

/** The terms of a new root token. */
export function checkIssue(input: IssueSpendTokenInput, now: number): TokenTerms {
  if (typeof input !== 'object' || input === null) throw invalid('', 'an object');
  currencyExponent(input.currency);
  const max = positive(input.maxAmount, input.currency, 'maxAmount');
  const perUse =
    input.perUseMax === undefined ? null : positive(input.perUseMax, input.currency, 'perUseMax');
  if (perUse !== null && perUse > max) throw invalid('perUseMax', 'at most maxAmount');
  return {
    currency: input.currency,
    scope: JSON.stringify(checkScope(input.scope)),
    max_amount: max,
    per_use_max: perUse,
    expires_at: checkExpiry(input.expiresAt, now),
    usage: checkUsage(input.usage ?? 'multi'),
  };
}

/** The terms of a child of `parent` (locked and active); each may only narrow the parent's. */
export function checkNarrow(parent: TokenRow, input: NarrowSpendTokenInput, now: number): TokenTerms {
  if (typeof input !== 'object' || input === null) throw invalid('', 'an object');
  const currency = parent.currency;
  if (input.currency !== undefined && input.currency !== currency)
    throw new StrataError('E_CURRENCY_MISMATCH', `the parent token is in ${currency}`, {
      currencies: [currency, String(input.currency)],
    });
  if (Number(parent.depth) + 1 > MAX_DEPTH) throw widened('depth', `at most ${MAX_DEPTH} narrowings`);
  const left = toBig(parent.max_amount) - toBig(parent.reserved) - toBig(parent.captured);
  const max = input.maxAmount === undefined ? left : positive(input.maxAmount, currency, 'maxAmount');
  if (max > left || max <= 0n)
    throw widened('maxAmount', `maxAmount above the parent's remaining ${formatMicros(left, currency)}`);
  const parentPerUse = parent.per_use_max === null ? null : toBig(parent.per_use_max);
  const perUse =
    input.perUseMax === undefined ? parentPerUse : positive(input.perUseMax, currency, 'perUseMax');
  if (parentPerUse !== null && perUse !== null && perUse > parentPerUse)
    throw widened('perUseMax', 'perUseMax above the parent’s');
  const expiresAt =
    input.expiresAt === undefined ? Number(parent.expires_at) : checkExpiry(input.expiresAt, now);
  if (expiresAt > Number(parent.expires_at)) throw widened('expiresAt', 'expires after the parent');
  const usage = checkUsage(input.usage ?? parent.usage);
  if (parent.usage === 'single' && usage === 'multi')
    throw widened('usage', 'multi-use under a single-use parent');
  return {
    currency,
    scope: JSON.stringify(narrowScope(JSON.parse(parent.scope) as SpendTokenScope, input.scope)),
    max_amount: max,
    per_use_max: perUse !== null && perUse > max ? max : perUse,
    expires_at: expiresAt,
    usage,
  };
}

/** The child's scope: each dimension given replaces the parent's and must be inside it. */
export function narrowScope(
  parent: SpendTokenScope,
  requested: SpendTokenScope | undefined,
): SpendTokenScope {
  const asked = requested === undefined ? {} : checkScope(requested);
  const child = checkScope({ ...parent, ...asked });
  const inside = (key: 'kinds' | 'priceIds'): void => {
    const allowed = parent[key];
    const extra = allowed && child[key]?.find((v) => !allowed.includes(v));
    if (extra) throw widened(`scope.${key}`, `${key} ${JSON.stringify(extra)} is outside the parent's scope`);
  };
  inside('kinds');
  inside('priceIds');
  if (parent.resourceId !== undefined && child.resourceId !== parent.resourceId)
    throw widened('scope.resourceId', 'another resource than the parent’s');
  return child;
}

/** Checks and normalizes a reservation's key and purchase. */
export function checkPurchase(input: ReserveInput): Purchase {
  if (typeof input !== 'object' || input === null) throw invalid('', 'an object');
  text(input.idempotencyKey, 'idempotencyKey');
  const p = input.purchase as Partial<Purchase> | undefined;
  if (typeof p !== 'object' || p === null) throw invalid('purchase', 'an object with a kind');
  return {
    kind: text(p.kind, 'purchase.kind', 100),
    ...(p.priceId === undefined ? {} : { priceId: text(p.priceId, 'purchase.priceId') }),
    ...(p.resourceId === undefined ? {} : { resourceId: text(p.resourceId, 'purchase.resourceId') }),
  };
}

/** Whether a token's scope covers a purchase. */
export function covers(row: Pick<TokenRow, 'scope'>, purchase: Purchase): boolean {
  const scope = JSON.parse(row.scope) as SpendTokenScope;
  if (scope.kinds && !scope.kinds.includes(purchase.kind)) return false;
  if (scope.priceIds && (purchase.priceId === undefined || !scope.priceIds.includes(purchase.priceId)))
    return false;
  return scope.resourceId === undefined || scope.resourceId === purchase.resourceId;
}

/** Checks one token of a reservation's chain: scope, perUseMax and what maxAmount leaves. */
export function checkRoom(row: TokenRow, amount: bigint, purchase: Purchase): void {
  if (!covers(row, purchase))
    throw new StrataError('E_SPEND_TOKEN_SCOPE', `spend token ${row.id} does not cover this purchase`, {
      tokenId: row.id,
      purchase,
    });
  if (row.per_use_max !== null && amount > toBig(row.per_use_max))
    throw limitError(row, 'perUseMax', amount, toBig(row.per_use_max));
  const left = toBig(row.max_amount) - toBig(row.reserved) - toBig(row.captured);
  if (amount > left) throw limitError(row, 'maxAmount', amount, left);
}

export function limitError(row: TokenRow, limit: string, amount: bigint, left: bigint): StrataError {
  return new StrataError('E_SPEND_TOKEN_LIMIT', `spend token ${row.id}: the amount exceeds its ${limit}`, {
    tokenId: row.id,
    limit,
    available: formatMicros(left, row.currency),
    requested: formatMicros(amount, row.currency),
  });
}

/** Status as of `now`: a token past its expiresAt is expired even before the reaper records it. */
function statusOf(row: TokenRow, now: number): { reason?: DeactivatedReason; at?: number } {
  if (row.status === 'deactivated')
    return { reason: row.deactivated_reason as DeactivatedReason, at: Number(row.deactivated_at) };
  if (now >= Number(row.expires_at)) return { reason: 'expired', at: Number(row.expires_at) };
  return {};
}

/** Throws `E_SPEND_TOKEN_INACTIVE` unless the token is active at `now`. */
export function checkActive(row: TokenRow, now: number): void {
  const { reason } = statusOf(row, now);
  if (reason)
    throw new StrataError('E_SPEND_TOKEN_INACTIVE', `spend token ${row.id} is ${reason}`, {
      tokenId: row.id,
      deactivatedReason: reason,
    });
}

export function toInfo(row: TokenRow, now: number): SpendTokenInfo {
  const { reason, at } = statusOf(row, now);
  const max = toBig(row.max_amount);
  const reserved = toBig(row.reserved);
  const captured = toBig(row.captured);
  return {
    id: row.id,
    tenantId: row.tenant_id,
    parentId: row.parent_id,
    rootId: row.root_id,
    scope: JSON.parse(row.scope) as SpendTokenScope,
    currency: row.currency,
    maxAmount: max,
    ...(row.per_use_max === null ? {} : { perUseMax: toBig(row.per_use_max) }),
    expiresAt: Number(row.expires_at),
    usage: row.usage === 'single' ? 'single' : 'multi',
    status: reason ? 'deactivated' : 'active',
    ...(reason ? { deactivatedReason: reason, deactivatedAt: at } : {}),
    ...(row.note === null ? {} : { note: row.note }),
    reservedAmount: reserved,
    capturedAmount: captured,
    remainingAmount: reason ? 0n : max - reserved - captured,
    createdAt: Number(row.created_at),
  };
}

export function toReservation(row: ReservationRow): SpendReservation {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    tokenId: row.token_id,
    rootId: row.root_id,
    idempotencyKey: row.idempotency_key,
    currency: row.currency,
    amount: toBig(row.amount),
    capturedAmount: toBig(row.captured_amount),
    status: row.status as SpendReservation['status'],
    purchase: {
      kind: row.kind,
      ...(row.price_id === null ? {} : { priceId: row.price_id }),
      ...(row.resource_id === null ? {} : { resourceId: row.resource_id }),
    },
    expiresAt: Number(row.timeout_at),
    createdAt: Number(row.created_at),
    ...(row.resolved_at === null ? {} : { resolvedAt: Number(row.resolved_at) }),
  };
}
