/**
 * @module kernel/store/drivers/shared/params
 * Parameter normalisation both drivers apply before binding. Booleans become INTEGER 0/1, the
 * portable boolean encoding: better-sqlite3 refuses to bind booleans at all, and PostgreSQL would
 * receive the text `true`, which an INTEGER column rejects. Everything else binds natively.
 */
import type { SqlValue } from '../../store.ts';

export const NO_PARAMS: readonly SqlValue[] = Object.freeze([]);

/** The params ready to bind; the same array (no copy) when nothing needs converting, the common case. */
export function bindable(params: readonly SqlValue[]): readonly SqlValue[] {
  for (let i = 0; i < params.length; i++) {
    if (typeof params[i] === 'boolean') return params.map((p) => (typeof p === 'boolean' ? Number(p) : p));
  }
  return params;
}
