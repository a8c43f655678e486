/**
 * @module kernel/store/drivers/shared/transaction-scope
 * The transaction semantics both drivers share, so SQLite and PostgreSQL behave alike:
 *
 * - A handle is only usable while its transaction is open; using a leaked handle afterwards throws
 *   instead of silently running outside the transaction (or, on PostgreSQL, on a pooled client
 *   that now belongs to someone else).
 * - A failed statement poisons the transaction. PostgreSQL does this natively (SQLSTATE 25P02 for
 *   every later statement, and COMMIT quietly turns into ROLLBACK); SQLite would carry on. We adopt
 *   PostgreSQL's rule on both, and refuse to report success for a transaction that was rolled back.
 *   To recover from an expected error, run the statement in a nested `tx.transaction()`: rolling
 *   back to its savepoint clears the failure on both engines.
 * - Nested transactions on one handle run one at a time: savepoints form a stack, so two
 *   concurrent children would interleave their SAVEPOINT/RELEASE and corrupt each other.
 * - `afterCommit` hooks run once the outermost transaction has committed, and never if the level
 *   they were registered at rolls back: a savepoint that is released hands its hooks to its
 *   parent, one rolled back to drops them.
 */
import { StrataError } from '../../../errors.ts';

/** How a driver opens and closes one level (BEGIN/COMMIT/ROLLBACK or the SAVEPOINT trio). */
export interface ScopeOps {
  readonly begin: () => void | Promise<void>;
  readonly commit: () => void | Promise<void>;
  readonly rollback: () => void | Promise<void>;
}

export class TxScope {
  /** 0 for the outermost transaction, n for the n-th nested savepoint. */
  readonly depth: number;
  #open = true;
  #failure: { readonly error: unknown } | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  readonly #parent: TxScope | undefined;
  #afterCommit: (() => void)[] = [];

  /** `parent`: the scope a nested one (a savepoint) belongs to; none for the outermost. */
  constructor(depth: number, parent?: TxScope) {
    this.depth = depth;
    this.#parent = parent;
  }

  /** False once the transaction committed or rolled back. */
  get open(): boolean {
    return this.#open;
  }

  /** Runs one statement of this transaction, recording a failure so the transaction cannot commit. */
  async call<R>(op: () => R | Promise<R>): Promise<R> {
    this.assertUsable();
    try {
      return await op();
    } catch (error) {
      this.#failure ??= { error };
      throw error;
    }
  }

  assertUsable(): void {
    if (!this.#open) {
      throw new StrataError(
        'E_STORE',
        'transaction handle used after its transaction ended; use it only inside fn',
      );
    }
    if (this.#failure !== undefined) {
      throw new StrataError(
        'E_STORE',
        'transaction is aborted: an earlier statement in it failed; run statements that may fail in a nested tx.transaction()',
        undefined,
        { cause: this.#failure.error },
      );
    }
  }

  /**
   * Runs `hook` after the outermost transaction commits (not at all if this level or an enclosing
   * one rolls back). Hooks run in the order registered, right after COMMIT and before
   * `transaction()` resolves; they must not throw (the data is committed either way, so an error
   * is dropped rather than reported as the transaction failing).
   */
  afterCommit(hook: () => void): void {
    if (!this.#open) {
      throw new StrataError('E_STORE', 'afterCommit on a transaction that already ended; call it inside fn');
    }
    this.#afterCommit.push(hook);
  }

  /** Queues a nested transaction behind any sibling still running on this handle. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => {
      this.assertUsable(); // checked when its turn comes: the parent may have failed or ended meanwhile
      return fn();
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` as this scope's transaction: begin, then commit if it resolved and nothing failed. */
  async run<TTx, T>(handle: TTx, fn: (tx: TTx) => Promise<T>, ops: ScopeOps): Promise<T> {
    await ops.begin();
    let result: T;
    try {
      result = await fn(handle);
    } catch (error) {
      await this.#rollback(ops);
      throw error;
    }
    if (this.#failure !== undefined) {
      const cause = this.#failure.error;
      await this.#rollback(ops);
      throw new StrataError(
        'E_STORE',
        'transaction rolled back: a statement in it failed and the error was caught; run statements that may fail in a nested tx.transaction()',
        undefined,
        { cause },
      );
    }
    this.#open = false;
    try {
      await ops.commit();
    } catch (error) {
      this.#afterCommit = [];
      await swallow(ops.rollback);
      throw error;
    }
    this.#committed();
    return result;
  }

  /** A savepoint's hooks wait for its parent; the outermost transaction's run now. */
  #committed(): void {
    const hooks = this.#afterCommit;
    this.#afterCommit = [];
    if (this.#parent !== undefined) {
      this.#parent.#afterCommit.push(...hooks);
      return;
    }
    for (const hook of hooks) {
      try {
        hook();
      } catch {
        // See afterCommit: the transaction committed; a failing hook must not say otherwise.
      }
    }
  }

  async #rollback(ops: ScopeOps): Promise<void> {
    this.#open = false;
    this.#afterCommit = [];
    // The error that made us roll back is the one worth reporting; a driver that needs to know the
    // rollback itself failed (a broken connection) tracks that in its own `rollback`.
    await swallow(ops.rollback);
  }
}

async function swallow(op: () => void | Promise<void>): Promise<void> {
  try {
    await op();
  } catch {
    // See #rollback.
  }
}
