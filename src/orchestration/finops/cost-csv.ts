/**
 * @module orchestration/finops/cost-csv
 * A cost report as CSV (RFC 4180): one header line, then one line per group; fields holding a comma,
 * a quote or a line break are quoted, quotes doubled, lines end with CRLF. Amounts are the report's
 * decimal strings in its currency, so a spreadsheet sums them exactly as shown.
 */
import type { CostReport } from './cost-report.ts';

export const COST_CSV_HEADER = [
  'key',
  'workflow',
  'status',
  'total',
  'committed',
  'waste',
  'calls',
  'waste_calls',
  'currency',
] as const;

function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function toCsv(report: CostReport): string {
  const lines = [
    COST_CSV_HEADER,
    ...report.groups.map((g) => [
      g.key,
      g.workflow ?? '',
      g.status ?? '',
      g.total,
      g.committed,
      g.waste,
      String(g.calls),
      String(g.wasteCalls),
      report.currency,
    ]),
  ];
  return lines.map((line) => line.map(field).join(',')).join('\r\n') + '\r\n';
}
