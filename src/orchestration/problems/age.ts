/**
 * @module orchestration/problems/age
 * How long, in the fewest characters a person reads at a glance (`45s`, `12m`, `3h`, `2d`): used in
 * reasons on the server and in `strata problems` lines. No imports, so the CLI loads it cheaply.
 */
export function shortDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
