/**
 * The demo's job: bug reports against a small web shop, and what the team already knows about it.
 * Each issue carries an order whose total the agent recomputes in a sandbox (Python) to reproduce
 * the reported rounding error; issues under `payments` need a person's approval to close.
 */
import { z } from 'zod';
import { draw } from './faults.ts';

export interface Issue {
  readonly number: number;
  readonly title: string;
  readonly area: 'cart' | 'checkout' | 'payments' | 'search' | 'shipping';
  /** Unit prices in cents and quantities; the report says the shop charged `charged` cents. */
  readonly lines: readonly { readonly cents: number; readonly qty: number }[];
  readonly charged: number;
}

/** Where an issue is on the tracker's board (tracker-mcp.ts). */
export const ISSUE_STATUSES = ['open', 'in_progress', 'in_review', 'done', 'escalated'] as const;
export type IssueStatus = (typeof ISSUE_STATUSES)[number];

export const issueSchema = z.object({
  number: z.number(),
  title: z.string(),
  area: z.enum(['cart', 'checkout', 'payments', 'search', 'shipping']),
  lines: z.array(z.object({ cents: z.number(), qty: z.number() })),
  charged: z.number(),
});

const AREAS = ['cart', 'checkout', 'payments', 'search', 'shipping'] as const;
const SYMPTOMS = [
  'total is off by a cent',
  'discount applied twice',
  'tax rounded the wrong way',
  'wrong total after editing quantity',
  'refund amount differs from charge',
];

export function seedIssues(seed: number, count: number): Issue[] {
  return Array.from({ length: count }, (_, i) => {
    const area = AREAS[i % AREAS.length] ?? 'cart';
    const lines = [0, 1, 2].map((j) => ({
      cents: 199 + Math.floor(draw(seed, `price:${i}:${j}`) * 5000),
      qty: 1 + Math.floor(draw(seed, `qty:${i}:${j}`) * 4),
    }));
    const total = lines.reduce((sum, l) => sum + l.cents * l.qty, 0);
    const symptom = SYMPTOMS[i % SYMPTOMS.length] ?? 'total is off';
    return { number: 1001 + i, title: `${area}: ${symptom}`, area, lines, charged: total + 1 };
  });
}

/** What the team knows before the sprint: searched by every agent, added to by each. */
export const TEAM_FACTS = [
  'Prices are stored in integer cents; never use floats for money in the shop.',
  'Tax is computed per order, not per line, and rounded half up to the cent.',
  'Payments captures are retried three times by the payment gateway client.',
  'Search results are cached for five minutes per query.',
  'Shipping is free above 50 EUR after discounts.',
  'The cart recomputes totals when a quantity is edited.',
];

/** The script the agent runs in its sandbox: recompute the order total from the issue's lines. */
export function reproduceScript(issue: Issue): string {
  const lines = issue.lines.map((l) => `(${l.cents}, ${l.qty})`).join(', ');
  return [
    `lines = [${lines}]`,
    'total = sum(c * q for c, q in lines)',
    `print(total, ${issue.charged} - total)`,
  ].join('; ');
}
