/**
 * @module web/views/spend-meter
 * Spent against a limit as a `<meter>` (no inline style under the CSP) with the figures beside it in
 * text, so the amount never rests on the bar's colour or length alone. Shared by the Fleet and Costs
 * views, which both show budgets.
 */
import { html } from 'hono/html';
import type { Html } from '../layout.ts';

/** A decimal amount (`"12.50"`) as a number for display; 0 for anything unreadable. */
const amountOf = (text: string): number => {
  const n = Number(text);
  return Number.isFinite(n) ? n : 0;
};

/**
 * `<meter>` from 0 to the limit, high at 80 % and the limit itself as optimum's far end, named by
 * `label` for assistive technology; the text gives spent, limit and the percentage used.
 */
export function spendMeter(label: string, spent: string, limit: string, currency: string): Html {
  const max = amountOf(limit);
  const value = amountOf(spent);
  const used = (value / max) * 100;
  const pct = max > 0 ? (used < 10 ? used.toFixed(1) : used.toFixed(0)) : null;
  return html`<meter
      min="0"
      max="${max > 0 ? max : 1}"
      low="${max * 0.5}"
      high="${max * 0.8}"
      optimum="0"
      value="${Math.min(value, max > 0 ? max : 1)}"
      aria-label="${label}: ${pct === null ? 'no limit' : `${pct}% used`}"
    ></meter>
    <span>${spent} of ${limit} ${currency}${pct === null ? '' : ` (${pct}%)`}</span>`;
}
