/**
 * @module orchestration/reliability/format
 * Text for the report's by-code counts, shared by the CLI and the dashboard (no imports at run
 * time, so the CLI can load it without the run engine).
 */
import type { LayerReliability } from './schema.ts';

/** A layer's failed calls no fault touched, by code, most frequent first ("E_CONFLICT 2, E_X 1"). */
export const otherFailures = (l: LayerReliability): string =>
  Object.entries(l.failedWithoutFault)
    .sort(([a, m], [b, n]) => n - m || a.localeCompare(b))
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
