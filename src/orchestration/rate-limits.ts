/**
 * @module orchestration/rate-limits
 * Token buckets shared by every worker (e.g. one per model provider and account). A step that names
 * a bucket takes one token before it runs; when the bucket is empty the run is suspended until the
 * next token is due, so waiting for capacity holds no worker and survives restarts.
 */
import { forUpdate, StrataError, type Queryable } from '../kernel/index.ts';

const MICROS = 1_000_000;

export interface RateLimit {
  /** Tokens the bucket holds when full (the burst). */
  readonly capacity: number;
  /** Tokens added per second; up to three decimals. */
  readonly perSecond: number;
}

/** Creates or changes a bucket; a new bucket starts full. */
export async function setRateLimit(q: Queryable, key: string, limit: RateLimit, now: number): Promise<void> {
  if (
    !(limit.capacity >= 1) ||
    !(limit.perSecond > 0) ||
    !Number.isFinite(limit.capacity + limit.perSecond)
  ) {
    throw new StrataError('E_INVALID_INPUT', 'a rate limit needs capacity ≥ 1 and perSecond > 0', { key });
  }
  const capacity = Math.round(limit.capacity * MICROS);
  const refill = Math.round(limit.perSecond * 1000); // micro-tokens per ms
  await q.run(
    `INSERT INTO orch_rate_limits (key, capacity_micros, refill_micros_per_ms, tokens_micros, updated_at)
     VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET capacity_micros = excluded.capacity_micros,
       refill_micros_per_ms = excluded.refill_micros_per_ms`,
    [key, capacity, refill, capacity, now],
  );
}

/** Takes one token: `0` if taken, else how many ms until one is available. Call inside a transaction. */
export async function takeToken(tx: Queryable, key: string, now: number): Promise<number> {
  const row = await tx.get<{
    capacity_micros: number;
    refill_micros_per_ms: number;
    tokens_micros: number;
    updated_at: number;
  }>(
    `SELECT capacity_micros, refill_micros_per_ms, tokens_micros, updated_at FROM orch_rate_limits WHERE key = ?${forUpdate(tx)}`,
    [key],
  );
  if (!row)
    throw new StrataError(
      'E_INVALID_INPUT',
      `no rate limit "${key.slice(0, 100)}"; create it with engine.setRateLimit`,
      { key },
    );
  const elapsed = Math.max(0, now - row.updated_at);
  const tokens = Math.min(row.capacity_micros, row.tokens_micros + elapsed * row.refill_micros_per_ms);
  if (tokens < MICROS) {
    await tx.run('UPDATE orch_rate_limits SET tokens_micros = ?, updated_at = ? WHERE key = ?', [
      tokens,
      now,
      key,
    ]);
    return Math.max(1, Math.ceil((MICROS - tokens) / row.refill_micros_per_ms));
  }
  await tx.run('UPDATE orch_rate_limits SET tokens_micros = ?, updated_at = ? WHERE key = ?', [
    tokens - MICROS,
    now,
    key,
  ]);
  return 0;
}
