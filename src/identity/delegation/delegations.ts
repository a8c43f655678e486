/**
 * @module identity/delegation/delegations
 * The delegation service of one Strata node: verifies invocations against the tenant's revocations
 * and the replay store, consumes nonces, revokes links and explains decisions. The rules themselves
 * are in `chain.ts`; this file adds only what needs the store.
 *
 * Revocations are per tenant (the tenant that verifies decides what it no longer honours). Nonces are
 * global per invoker DID: an invocation is usable once, anywhere on this node.
 */
import {
  isStrataError,
  StrataError,
  systemClock,
  type Clock,
  type StrataErrorCode,
  type Store,
} from '../../kernel/index.ts';
import {
  checkInvocation,
  DEFAULT_RULE,
  type ChainContext,
  type LinkView,
  type VerifiedInvocation,
} from './chain.ts';
import { DELEGATION_LAYER, delegationMigrations } from './migrations.ts';
import type { LinkRef } from './tokens.ts';

export interface DelegationsOptions {
  readonly store: Store;
  readonly clock?: Clock;
  /** Whether the tenant serves this subject DID (e.g. it is one of its agents). @default every subject */
  readonly trustedSubject?: (tenantId: string, did: string) => Promise<boolean>;
}

/** What explain() returns: the decision, the rule that made it and the chain as far as it was read. */
export interface Explanation {
  readonly allowed: boolean;
  /** The rule that refused, or `all-rules-passed`. */
  readonly rule: string;
  readonly code?: StrataErrorCode;
  readonly message: string;
  /** The link the refusal is about. */
  readonly link?: LinkRef;
  /** Proofs root first, then the invocation; stops at the first token that could not be read. */
  readonly chain: readonly LinkView[];
}

const CID = /^sha256:[0-9a-f]{64}$/;
const PRUNE_EVERY = 500;

export class Delegations {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #trustedSubject: DelegationsOptions['trustedSubject'];
  #invokes = 0;

  private constructor(options: DelegationsOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#trustedSubject = options.trustedSubject;
  }

  /** Applies the `identity_delegation` schema. */
  static async open(options: DelegationsOptions): Promise<Delegations> {
    await options.store.migrate(DELEGATION_LAYER, delegationMigrations);
    return new Delegations(options);
  }

  /** Checks every rule, the nonce included, without using it up. Throws the first refusal. */
  verify(tenantId: string, invocation: unknown): Promise<VerifiedInvocation> {
    return checkInvocation(invocation, this.#context(tenantId));
  }

  /**
   * Verifies and uses up the invocation: of two concurrent calls with one invocation, exactly one
   * passes (the nonce's primary key decides). Call this right before doing what it asks.
   */
  async invoke(tenantId: string, invocation: unknown): Promise<VerifiedInvocation> {
    const verified = await this.verify(tenantId, invocation);
    try {
      await this.#store.run(
        'INSERT INTO identity_delegation_nonces (issuer, nonce, tenant_id, invocation_cid, expires_at) VALUES (?, ?, ?, ?, ?)',
        [verified.invoker, verified.nonce, tenantId, verified.cid, verified.exp * 1000],
      );
    } catch (error) {
      if (isStrataError(error) && error.code === 'E_CONFLICT') {
        throw new StrataError('E_DELEGATION_REPLAY', 'this invocation was already used', {
          rule: 'nonce-unused',
          link: 'invocation',
        });
      }
      throw error;
    }
    if (++this.#invokes % PRUNE_EVERY === 0) await this.prune();
    return verified;
  }

  /** Explains the decision on an invocation without using it up; never throws a refusal. */
  async explain(tenantId: string, invocation: unknown): Promise<Explanation> {
    const chain: LinkView[] = [];
    try {
      const verified = await checkInvocation(invocation, this.#context(tenantId), chain);
      const path = verified.chain.map((l) => l.iss.slice(-8)).join(' → ');
      return {
        allowed: true,
        rule: 'all-rules-passed',
        message: `${verified.cmd} allowed for …${verified.invoker.slice(-8)} by the chain ${path}`,
        chain,
      };
    } catch (error) {
      if (!isStrataError(error) || !error.code.startsWith('E_DELEGATION_')) throw error;
      const data = (error.data ?? {}) as { rule?: string; link?: LinkRef };
      return {
        allowed: false,
        rule: data.rule ?? DEFAULT_RULE[error.code] ?? 'unknown',
        code: error.code,
        message: error.message,
        ...(data.link === undefined ? {} : { link: data.link }),
        chain,
      };
    }
  }

  /** Revokes a link (and so every chain through it) in this tenant. Idempotent. */
  async revoke(
    tenantId: string,
    input: { cid: string; reason?: string; revokedBy: string },
  ): Promise<{ cid: string; revokedAt: number }> {
    if (!CID.test(input.cid)) {
      throw new StrataError('E_INVALID_INPUT', 'cid is sha256:<64 hex> (see explain)', {
        issues: [{ path: 'cid', message: 'not a link id' }],
      });
    }
    await this.#store.run(
      `INSERT INTO identity_delegation_revocations (tenant_id, cid, reason, revoked_by, revoked_at)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, cid) DO NOTHING`,
      [
        tenantId,
        input.cid,
        (input.reason ?? '').slice(0, 500),
        input.revokedBy.slice(0, 200),
        this.#clock.now(),
      ],
    );
    const row = await this.#store.get<{ revoked_at: number }>(
      'SELECT revoked_at FROM identity_delegation_revocations WHERE tenant_id = ? AND cid = ?',
      [tenantId, input.cid],
    );
    return { cid: input.cid, revokedAt: Number(row?.revoked_at) };
  }

  /** Deletes nonces whose invocations have expired (they are refused as expired anyway). */
  async prune(): Promise<number> {
    const result = await this.#store.run('DELETE FROM identity_delegation_nonces WHERE expires_at <= ?', [
      this.#clock.now(),
    ]);
    return result.changes;
  }

  #context(tenantId: string): ChainContext {
    const trusted = this.#trustedSubject;
    return {
      now: this.#clock.now(),
      revoked: async (cids) => {
        const row = await this.#store.get<{ cid: string }>(
          `SELECT cid FROM identity_delegation_revocations WHERE tenant_id = ? AND cid IN (${cids.map(() => '?').join(', ')})`,
          [tenantId, ...cids],
        );
        return row?.cid;
      },
      nonceUsed: async (issuer, nonce) =>
        (await this.#store.get(
          'SELECT 1 AS used FROM identity_delegation_nonces WHERE issuer = ? AND nonce = ?',
          [issuer, nonce],
        )) !== undefined,
      ...(trusted === undefined ? {} : { trustedSubject: (did: string) => trusted(tenantId, did) }),
    };
  }
}
