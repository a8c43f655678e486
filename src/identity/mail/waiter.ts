/**
 * The mail service's waits (see waits.ts for the table and the matching rules): registering and
 * cancelling them, firing them from inbound delivery, handing fired waits of durable runs to the
 * engine through the `onFired` deliverer (retried by a sweep until it succeeds), and a bounded
 * blocking wait for callers that are not durable runs.
 */
import { EventEmitter, once } from 'node:events';
import { isStrataError, StrataError, type Clock, type Store, type Transaction } from '../../kernel/index.ts';
import type { Mailbox, MailMessage } from './repo.ts';
import * as waits from './waits.ts';

/** Hands a fired wait to its run; a refusal because the run is gone (E_CONFLICT, E_NOT_FOUND) drops it. */
export type WaitDeliverer = (wait: waits.MailWait) => Promise<void>;

const SWEEP_BATCH = 100;
const POLL_MS = 250;

export class MailWaiter {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #mailbox: (tenant: string, idOrAddress: string) => Promise<Mailbox>;
  readonly #wakes = new EventEmitter();
  #deliver: WaitDeliverer | undefined;
  #sweeping: Promise<number> | undefined;
  #sweepAgain = false;
  /** A wait fired since the last sweep (possibly in a transaction that rolled back: sweeping is then a no-op). */
  #fired = false;

  constructor(parts: {
    store: Store;
    clock: Clock;
    mailbox: (tenant: string, idOrAddress: string) => Promise<Mailbox>;
  }) {
    this.#store = parts.store;
    this.#clock = parts.clock;
    this.#mailbox = parts.mailbox;
    this.#wakes.setMaxListeners(0);
  }

  /** Registers a wait on a mailbox of the tenant; it may come back fired by a stored message. */
  async register(input: {
    tenant: string;
    mailbox: string;
    query: waits.MailWaitQuery;
    runId?: string;
    key?: string;
  }): Promise<waits.MailWait> {
    const mailbox = await this.#mailbox(input.tenant, input.mailbox);
    return this.#store.transaction((tx) =>
      waits.registerWait(tx, {
        tenant: input.tenant,
        mailboxId: mailbox.id,
        runId: input.runId ?? null,
        key: input.key ?? null,
        query: input.query,
        now: this.#clock.now(),
      }),
    );
  }

  get(tenant: string, id: string): Promise<waits.MailWait> {
    return waits.getWait(this.#store, tenant, id);
  }

  /** Cancels a waiting wait; one that fired meanwhile comes back fired. */
  cancel(tenant: string, id: string): Promise<waits.MailWait> {
    return this.#store.transaction((tx) => waits.cancelWait(tx, tenant, id));
  }

  /** Called in each inbound message's transaction. */
  readonly fireIn = async (tx: Transaction, message: MailMessage): Promise<void> => {
    if (message.direction !== 'in') return;
    const fired = await waits.fireWaits(tx, message, this.#clock.now());
    if (fired.length > 0) this.#fired = true;
  };

  /**
   * After inbound messages were committed: wakes blocking waiters and, when a wait fired, hands it
   * to its run now (most deliveries fire none, and they cost no query here).
   */
  async afterDelivery(): Promise<void> {
    if (!this.#fired) return;
    this.#fired = false;
    this.#wakes.emit('wake');
    await this.sweep().catch(() => undefined); // the periodic sweep retries
  }

  /** Sets who tells a run that its wait fired (the runtime: `engine.signal`). */
  onFired(deliver: WaitDeliverer): void {
    this.#deliver = deliver;
  }

  /**
   * Hands every fired, unsignalled wait of a run to the deliverer; returns how many were handed
   * over. Concurrent calls share one pass (and ask for another when work may have arrived).
   */
  sweep(): Promise<number> {
    if (this.#sweeping) {
      this.#sweepAgain = true;
      return this.#sweeping;
    }
    this.#sweeping = this.#sweepLoop().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #sweepLoop(): Promise<number> {
    const deliver = this.#deliver;
    if (!deliver) return 0;
    let handed = 0;
    do {
      this.#sweepAgain = false;
      for (;;) {
        const batch = await waits.unsignalledWaits(this.#store, SWEEP_BATCH);
        for (const wait of batch) {
          try {
            await deliver(wait);
            handed++;
          } catch (error) {
            // The run finished or vanished: nobody is waiting any more, drop it. Else retry later.
            if (!isStrataError(error) || !['E_CONFLICT', 'E_NOT_FOUND'].includes(error.code)) throw error;
          }
          await waits.markSignalled(this.#store, wait.id, this.#clock.now());
        }
        if (batch.length < SWEEP_BATCH) break;
      }
    } while (this.#sweepAgain);
    return handed;
  }

  /**
   * Waits in this call for a matching message, up to `timeoutMs`: for callers that are not durable
   * runs (a run uses `waitForMail`, which holds no process while waiting). E_WAIT_TIMEOUT when
   * nothing matched; the wait is then cancelled.
   */
  async waitHere(
    input: { tenant: string; mailbox: string; query: waits.MailWaitQuery },
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<waits.MailWait> {
    let wait = await this.register(input);
    const deadline = this.#clock.now() + options.timeoutMs;
    while (wait.status === 'waiting') {
      const left = deadline - this.#clock.now();
      if (left <= 0) {
        wait = await this.cancel(input.tenant, wait.id);
        if (wait.status === 'fired') break;
        throw new StrataError('E_WAIT_TIMEOUT', `no matching mail arrived within ${options.timeoutMs} ms`, {
          wait: wait.id,
        });
      }
      await this.#nextWake(Math.min(left, POLL_MS), options.signal);
      wait = await this.get(input.tenant, wait.id);
    }
    return wait;
  }

  async #nextWake(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const timeout = AbortSignal.timeout(ms);
    const stop = signal ? AbortSignal.any([signal, timeout]) : timeout;
    await once(this.#wakes, 'wake', { signal: stop }).catch((error: unknown) => {
      if (signal?.aborted) throw error;
    });
  }
}
