/**
 * @module compute/browser/health
 * The browser pool's health reading (kernel/health.ts), from what the pool and its sessions already
 * see happen, never from probing Chromium:
 * - **unhealthy**: Chromium cannot be launched (the last launch failed; a successful one clears it);
 * - **degraded**: every session slot has been taken for `saturatedAfterMs` or longer while callers
 *   were turned away, or `crashThreshold` sessions were lost to Chromium crashes within `crashWindowMs`;
 * - **healthy** otherwise, with the slots in use.
 */
import {
  readingOf,
  RecentEvents,
  systemClock,
  type Clock,
  type DriverHealth,
  type HealthFinding,
} from '../../kernel/index.ts';

export interface BrowserHealthOptions {
  /** @default 300_000 (5 minutes) */
  readonly crashWindowMs?: number;
  /** Sessions lost to crashes within the window that make the pool degraded. @default 3 */
  readonly crashThreshold?: number;
  /** How long all slots may stay taken, with callers refused, before the pool is degraded. @default 60_000 */
  readonly saturatedAfterMs?: number;
  readonly clock?: Clock;
}

const minutes = (ms: number): string => `${Math.max(1, Math.round(ms / 60_000))} min`;
const seconds = (ms: number): string => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : minutes(ms));

export class BrowserHealth {
  readonly #clock: Clock;
  readonly #crashes: RecentEvents;
  readonly #crashThreshold: number;
  readonly #saturatedAfterMs: number;
  #launchFailure: { since: number; reason: string } | null = null;
  /** When a caller was first turned away since a session last found a free slot. */
  #saturatedSince: number | null = null;
  #refused = 0;

  constructor(options: BrowserHealthOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#crashes = new RecentEvents(options.crashWindowMs ?? 300_000);
    this.#crashThreshold = options.crashThreshold ?? 3;
    this.#saturatedAfterMs = options.saturatedAfterMs ?? 60_000;
  }

  launched(): void {
    this.#launchFailure = null;
  }

  launchFailed(message: string): void {
    this.#launchFailure = { since: this.#launchFailure?.since ?? this.#clock.now(), reason: message };
  }

  /** A session's context closed without being asked to (Chromium crashed or was killed). */
  sessionLost(): void {
    this.#crashes.add(this.#clock.now());
  }

  /** A caller was turned away: every slot was taken. */
  refused(): void {
    this.#saturatedSince ??= this.#clock.now();
    this.#refused += 1;
  }

  /** A session found a free slot: the pool is not saturated. */
  admitted(): void {
    this.#saturatedSince = null;
    this.#refused = 0;
  }

  reading(slots: { readonly inUse: number; readonly max: number }): DriverHealth {
    const now = this.#clock.now();
    const findings: HealthFinding[] = [];
    if (this.#launchFailure !== null) findings.push({ status: 'unhealthy', ...this.#launchFailure });
    if (slots.inUse < slots.max) this.admitted(); // a slot freed since the last refusal
    const full = this.#saturatedSince;
    if (full !== null && now - full >= this.#saturatedAfterMs)
      findings.push({
        status: 'degraded',
        reason: `all ${slots.max} session slots taken for ${seconds(now - full)}; ${this.#refused} callers turned away since`,
        since: full,
      });
    const crashes = this.#crashes.within(now);
    if (crashes.count >= this.#crashThreshold)
      findings.push({
        status: 'degraded',
        reason: `${crashes.count} sessions lost to Chromium crashes in the last ${minutes(this.#crashes.windowMs)}`,
        since: crashes.first ?? now,
      });
    return readingOf(
      { id: 'browser.pool', layer: 'compute', name: 'browser pool' },
      findings,
      `${slots.inUse} of ${slots.max} session slots in use`,
    );
  }
}
