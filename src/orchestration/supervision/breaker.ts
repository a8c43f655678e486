/**
 * @module orchestration/supervision/breaker
 * Two additions to OTP, both pure and applied after {@link decide}, so they never change what OTP
 * decides or how intensity is counted:
 *
 * - Restart backoff: the n-th restart inside the intensity period waits `base · 2^(n-2)` ms
 *   (capped), the first none. The restart is still counted when it is decided, and the new run is
 *   created at once (its incarnation is fixed), only scheduled later.
 * - Mass-death breaker: `deaths` abnormal exits within `windowMs` open the breaker for
 *   `cooldownMs`; starts decided meanwhile are held (the children are marked `held`) and run when
 *   the cooldown ends. Each opening is reported as an event for escalations to attach to.
 */
import type { Action, ChildSlot, Decision, ExitReason, SupervisorState } from './decide.ts';

export interface BackoffPolicy {
  /** @default 1000 */
  readonly baseMs: number;
  /** @default 60_000 */
  readonly maxMs: number;
}

export interface BreakerPolicy {
  /** Abnormal exits that open the breaker. @default 3 */
  readonly deaths: number;
  /** @default 30_000 */
  readonly windowMs: number;
  /** How long restarts stay held. @default 60_000 */
  readonly cooldownMs: number;
}

export interface BreakerState {
  /** Times of abnormal exits inside the window. */
  readonly deaths: readonly number[];
  /** While open: when it closes; null when closed. */
  readonly openUntil: number | null;
}

export const CLOSED_BREAKER: BreakerState = { deaths: [], openUntil: null };

/** Delay before the restart that makes `restartsInPeriod` restarts inside the period. */
export function restartDelay(policy: BackoffPolicy, restartsInPeriod: number): number {
  if (restartsInPeriod <= 1) return 0;
  return Math.min(policy.maxMs, policy.baseMs * 2 ** (restartsInPeriod - 2));
}

export interface GuardedDecision {
  readonly state: SupervisorState;
  readonly breaker: BreakerState;
  readonly actions: readonly Action[];
  /** Delay for the start actions (backoff). */
  readonly delayMs: number;
  /** Set when this exit opened the breaker. */
  readonly opened?: { readonly until: number; readonly deaths: number };
}

/** Applies backoff and the breaker to an OTP decision. */
export function guard(
  policy: { backoff: BackoffPolicy; breaker: BreakerPolicy },
  breaker: BreakerState,
  decision: Decision,
  exit: { reason: ExitReason; at: number },
): GuardedDecision {
  const deaths =
    exit.reason === 'abnormal' && !decision.stale
      ? [...breaker.deaths.filter((t) => t > exit.at - policy.breaker.windowMs), exit.at]
      : [...breaker.deaths];
  const wasOpen = breaker.openUntil !== null && exit.at < breaker.openUntil;
  const opens = !wasOpen && deaths.length >= policy.breaker.deaths;
  const openUntil = opens ? exit.at + policy.breaker.cooldownMs : wasOpen ? breaker.openUntil : null;
  const delayMs = decision.restarted ? restartDelay(policy.backoff, decision.state.restarts.length) : 0;
  const next: BreakerState = { deaths: opens ? [] : deaths, openUntil };
  if (openUntil === null) return { state: decision.state, breaker: next, actions: decision.actions, delayMs };
  const held = new Set(decision.actions.flatMap((a) => (a.type === 'start' ? [a.childId] : [])));
  const children = decision.state.children.map((c): ChildSlot =>
    held.has(c.id) ? { ...c, running: false, held: true, incarnation: c.incarnation - 1 } : c,
  );
  return {
    state: { ...decision.state, children },
    breaker: next,
    actions: decision.actions.filter((a) => a.type !== 'start'),
    delayMs,
    ...(opens ? { opened: { until: openUntil, deaths: deaths.length } } : {}),
  };
}

/** When the cooldown is over: close the breaker and start the held children in start order. */
export function release(
  state: SupervisorState,
  breaker: BreakerState,
  now: number,
): { state: SupervisorState; breaker: BreakerState; actions: Action[] } | undefined {
  if (breaker.openUntil === null || now < breaker.openUntil) return undefined;
  const actions: Action[] = [];
  const children = state.children.map((c): ChildSlot => {
    if (!c.held) return c;
    actions.push({ type: 'start', childId: c.id, incarnation: c.incarnation + 1 });
    return { ...c, held: false, running: true, incarnation: c.incarnation + 1 };
  });
  return { state: { ...state, children }, breaker: CLOSED_BREAKER, actions };
}
