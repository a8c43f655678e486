/**
 * @module orchestration/supervision/spawn-pacer
 * Staggered spawns: a supervisor starting many children at once spreads the starts at a spawn
 * rate (a token bucket with a burst), so a fleet coming up, or a wave of restarts, does not hit
 * the workers, the store and the model providers all in the same second as running agents.
 *
 * Pure and replay-safe: the pacer only turns a time the run already journaled (the supervisor's
 * recorded start time, then each child event's `at`) into a start delay, and the delay becomes
 * the child run's durable `available_at` (the child is created at once, runnable later), so no
 * timer lives in memory and a crashed supervisor replays to the same schedule.
 */
export interface SpawnRate {
  /** Starts per second, sustained. */
  readonly perSecond: number;
  /** Starts allowed at once before pacing begins. @default Math.ceil(perSecond) */
  readonly burst?: number;
}

export interface PacerState {
  /** Start tokens left at `at`; negative is a debt the next starts wait out. */
  readonly tokens: number;
  readonly at: number;
}

/** A full bucket at `at`. */
export const freshPacer = (rate: SpawnRate, at: number): PacerState => ({ tokens: burstOf(rate), at });

const burstOf = (rate: SpawnRate): number => rate.burst ?? Math.max(1, Math.ceil(rate.perSecond));

/** The delay of one more start at `at` (ms, 0 within the burst), and the bucket after it. */
export function paceStart(
  rate: SpawnRate,
  state: PacerState,
  at: number,
): { delayMs: number; state: PacerState } {
  const now = Math.max(at, state.at);
  const refilled = Math.min(burstOf(rate), state.tokens + ((now - state.at) / 1000) * rate.perSecond);
  const tokens = refilled - 1;
  const delayMs = tokens >= 0 ? 0 : Math.ceil((-tokens / rate.perSecond) * 1000);
  return { delayMs, state: { tokens, at: now } };
}

/** Why a spawn rate is refused, or undefined when it is valid. */
export function spawnRateProblem(rate: SpawnRate): string | undefined {
  if (typeof rate.perSecond !== 'number' || !Number.isFinite(rate.perSecond) || rate.perSecond <= 0)
    return 'spawnRate.perSecond must be a positive number';
  if (rate.burst !== undefined && (!Number.isInteger(rate.burst) || rate.burst < 1))
    return 'spawnRate.burst must be an integer ≥ 1';
  return undefined;
}
