/**
 * @module orchestration/reliability/scope
 * The report's window as SQL: the tenant (when given) and a time column at or after `sinceMs`.
 */
export function where(
  tenantId: string | undefined,
  sinceMs: number | undefined,
  column: string,
  alias = '',
): { parts: string[]; params: (string | number)[] } {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  if (tenantId !== undefined) {
    parts.push(`${alias}tenant_id = ?`);
    params.push(tenantId);
  }
  if (sinceMs !== undefined) {
    parts.push(`${alias}${column} >= ?`);
    params.push(sinceMs);
  }
  return { parts, params };
}
