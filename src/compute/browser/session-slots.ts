/**
 * @module compute/browser/session-slots
 * This node's browser-session slots: how many sessions may be live or opening at once, which named
 * profiles are open, and the callers waiting for a slot (`browser.open` with `waitMs`).
 *
 * Every freed slot wakes all waiters and they look again in the order they came, so the first in
 * line takes it and the others wait on in their order; nothing is handed over, so a slot is never
 * counted twice. Finding a slot free and reserving it is one synchronous step: a waiter that only
 * saw the slot free and reserved it after an `await` (an async function's return resumes its
 * caller on a later turn) let the next waiter woken by the same wake see it free too, and both
 * opened a session in one slot.
 */
import { StrataError } from '../../kernel/index.ts';

/** A named persistent profile: `key` is unique on the node (tenant and name), `name` is shown. */
export interface ProfileRef {
  readonly key: string;
  readonly name: string;
}

/** What a caller turned away by a full pool is told to wait before trying again. */
const RETRY_AFTER_MS = 1_000;

/** A slot this caller holds while its session opens; `opened` or `failed` ends the hold. */
export interface SlotHold {
  /** The session is live (and counted by `live()`): the opening hold ends. */
  opened(): void;
  /** The open failed: the slot and the profile are free again. */
  failed(): void;
}

export class SessionSlots {
  readonly #waiters = new Set<() => void>();
  readonly #profiles = new Set<string>();
  readonly max: number;
  readonly #live: () => number;
  readonly #on: { refused: () => void; closing: () => boolean };
  #opening = 0;

  /**
   * @param live Sessions live on this node (each holds its slot until it closes).
   * @param on `refused`: a caller was turned away (for the health reading); `closing`: whether
   *   the sessions are shutting down.
   */
  constructor(max: number, live: () => number, on: { refused: () => void; closing: () => boolean }) {
    this.max = max;
    this.#live = live;
    this.#on = on;
  }

  /** Slots taken: live sessions and sessions opening. */
  get inUse(): number {
    return this.#live() + this.#opening;
  }

  /**
   * Takes a slot (and the profile, when one is named), waiting up to `waitMs` for one to free.
   * Refused with E_RATE_LIMITED when the wait ends, E_CONFLICT when the profile is open in
   * another session, E_SHUTTING_DOWN when the sessions close while it waits.
   */
  async take(waitMs: number, profile: ProfileRef | null = null): Promise<SlotHold> {
    const deadline = Date.now() + waitMs;
    while (!this.#reserve(profile)) {
      const left = deadline - Date.now();
      if (left <= 0) throw this.#refused(waitMs);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
      if (this.#on.closing()) throw new StrataError('E_SHUTTING_DOWN', 'browser sessions are shutting down');
    }
    let held = true;
    const end = (freeProfile: boolean): void => {
      if (!held) return;
      held = false;
      this.#opening -= 1;
      if (freeProfile && profile !== null) this.#profiles.delete(profile.key);
      this.wake(); // a failed open gives its slot back (an opened one now counts in live())
    };
    return { opened: () => end(false), failed: () => end(true) };
  }

  /** A live session closed: its profile is free, and the waiters look again. */
  closed(profile: ProfileRef | null): void {
    if (profile !== null) this.#profiles.delete(profile.key);
    this.wake();
  }

  /** A slot freed (or the sessions are closing): every waiter looks again. */
  wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  #reserve(profile: ProfileRef | null): boolean {
    if (profile !== null && this.#profiles.has(profile.key)) {
      throw new StrataError('E_CONFLICT', `profile "${profile.name}" is already open in another session`, {
        profile: profile.name,
      });
    }
    if (this.inUse >= this.max) return false;
    this.#opening += 1;
    if (profile !== null) this.#profiles.add(profile.key);
    return true;
  }

  #refused(waitMs: number): StrataError {
    this.#on.refused();
    // Back-pressure, not a fault: E_RATE_LIMITED, which the reliability report leaves out of a
    // layer's success (a fleet larger than the pool waits for slots by design).
    return new StrataError(
      'E_RATE_LIMITED',
      `this server already runs ${this.max} browser sessions; close one or retry later` +
        (waitMs ? ` (waited ${waitMs} ms)` : ''),
      { maxSessions: this.max, retryAfterMs: RETRY_AFTER_MS },
    );
  }
}
