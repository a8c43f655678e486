/**
 * @module cli/commands/billing
 * `strata billing report [--period YYYY-MM]` and `strata billing prices set|ls`: the billing report
 * and the price book of the caller's tenant, through the `billing.*` syscalls of a running server
 * (`strata up`), so every call is capability-checked and audited. Options `--url` and `--key`
 * belong to the `billing` group; `--json` prints the syscall's output as one JSON document.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { StrataError } from '../../kernel/errors.ts';
import { configOf, outputOf } from '../context.ts';
import { table, type Output } from '../output.ts';
import { remoteOf, type Remote } from '../remote.ts';

/** The parts of `billing.report`'s output this command prints. */
interface ReportView {
  period: { key: string; from: string; to: string };
  invoice: {
    lines: {
      meter: string;
      currency: string;
      unit: string;
      quantity: string;
      segments: { version: number }[];
      minimumApplied: boolean;
      amount: string;
    }[];
    totals: { currency: string; amount: string }[];
    unpriced: { meter: string; unit: string; quantity: string; from: string; to: string }[];
  };
  usage: { meter: string; aggregation: string; unit: string; quantity: string; events: number }[];
  posted: { id: string; amount: string; currency: string }[];
  trialBalance: { currency: string; debits: string; credits: string; pending: string; difference: string }[];
  budgets: {
    scope: string;
    subject: string;
    period: string;
    currency: string;
    limit: string;
    spent: string;
    held: string;
    available: string;
  }[];
  holds: { id: string; amount: string; currency: string; timeoutAt: string | null; overdue: boolean }[];
  resources?: { id: string; kind: string; name: string; state: string }[];
  spendTokens?: {
    id: string;
    status: string;
    currency: string;
    maxAmount: string;
    reserved: string;
    captured: string;
  }[];
}

interface PriceView {
  id: string;
  scope: string;
  meter: string;
  version: number;
  currency: string;
  unitAmount?: string;
  tiers?: { upTo: string | null; unitAmount: string; flatAmount?: string }[];
  mode?: string;
  minimum?: string;
  effectiveFrom: string;
  inEffect?: boolean;
}

function parseMonth(text: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(text))
    throw new InvalidArgumentError('expected a UTC month such as 2026-11');
  return text;
}

/** One titled block; empty lists print `none`. */
function section(title: string, header: readonly string[], rows: readonly (readonly string[])[]): string {
  return `${title}\n${rows.length === 0 ? '  none' : table(header, rows).replace(/^/gm, '  ')}`;
}

/** The report as people read it: one section per part, amounts with their currency. */
export function renderReport(r: ReportView): string {
  const { invoice } = r;
  const blocks = [
    `Billing report ${r.period.key} (${r.period.from} → ${r.period.to}, UTC)`,
    section(
      'Invoice',
      ['METER', 'QUANTITY', 'UNIT', 'PRICES', 'AMOUNT'],
      [
        ...invoice.lines.map((l) => [
          l.meter,
          l.quantity,
          l.unit,
          l.segments.map((s) => `v${s.version}`).join(', ') + (l.minimumApplied ? ' (minimum)' : ''),
          `${l.amount} ${l.currency}`,
        ]),
        ...invoice.totals.map((t) => ['TOTAL', '', '', '', `${t.amount} ${t.currency}`]),
      ],
    ),
  ];
  if (invoice.unpriced.length > 0)
    blocks.push(
      section(
        'Unpriced usage (not charged: set a price)',
        ['METER', 'QUANTITY', 'UNIT', 'FROM', 'TO'],
        invoice.unpriced.map((u) => [u.meter, u.quantity, u.unit, u.from, u.to]),
      ),
    );
  blocks.push(
    section(
      'Usage by meter',
      ['METER', 'AGGREGATION', 'QUANTITY', 'UNIT', 'EVENTS'],
      r.usage.map((u) => [u.meter, u.aggregation, u.quantity, u.unit, String(u.events)]),
    ),
    r.posted.length === 0
      ? 'Posted: not yet'
      : `Posted: ${r.posted.map((t) => `${t.amount} ${t.currency} (${t.id})`).join(', ')}`,
    section(
      'Trial balance',
      ['CURRENCY', 'DEBITS', 'CREDITS', 'PENDING', 'DIFFERENCE'],
      r.trialBalance.map((t) => [t.currency, t.debits, t.credits, t.pending, t.difference]),
    ),
    section(
      'Budgets (current period)',
      ['SCOPE', 'PERIOD', 'LIMIT', 'SPENT', 'HELD', 'AVAILABLE'],
      r.budgets.map((b) => [
        b.subject ? `${b.scope} ${b.subject}` : b.scope,
        b.period,
        `${b.limit} ${b.currency}`,
        b.spent,
        b.held,
        b.available,
      ]),
    ),
    section(
      'Live holds',
      ['ID', 'AMOUNT', 'TIMES OUT'],
      r.holds.map((h) => [
        h.id,
        `${h.amount} ${h.currency}`,
        `${h.timeoutAt ?? '-'}${h.overdue ? ' (overdue)' : ''}`,
      ]),
    ),
  );
  if (r.resources)
    blocks.push(
      section(
        'Resources',
        ['ID', 'KIND', 'NAME', 'STATE'],
        r.resources.map((x) => [x.id, x.kind, x.name, x.state]),
      ),
    );
  if (r.spendTokens)
    blocks.push(
      section(
        'Spend tokens',
        ['ID', 'STATUS', 'MAX', 'RESERVED', 'CAPTURED'],
        r.spendTokens.map((t) => [t.id, t.status, `${t.maxAmount} ${t.currency}`, t.reserved, t.captured]),
      ),
    );
  return blocks.join('\n\n');
}

function describePrice(p: PriceView): string {
  if (p.unitAmount !== undefined) return `${p.unitAmount} per unit`;
  const tiers = (p.tiers ?? []).map(
    (t) => `≤${t.upTo ?? '∞'}: ${t.unitAmount}${t.flatAmount === undefined ? '' : ` + ${t.flatAmount}`}`,
  );
  return `${p.mode ?? 'graduated'} ${tiers.join('; ')}`;
}

const priceRow = (p: PriceView): string[] => [
  p.meter,
  `v${p.version}${p.inEffect ? ' *' : ''}`,
  p.scope,
  p.currency,
  describePrice(p),
  p.minimum ?? '-',
  p.effectiveFrom,
];
const PRICE_HEADER = ['METER', 'VERSION', 'SCOPE', 'CURRENCY', 'PRICE', 'MINIMUM', 'FROM'];

/** Runs `fn` with the server the group's --url/--key (or their defaults) point at. */
function viaServer<A extends unknown[]>(
  fn: (io: { remote: Remote; out: Output }, ...args: A) => Promise<void>,
): (...args: [...A, Command]) => Promise<void> {
  return async (...args) => {
    const command = args.at(-1) as Command;
    const options = command.optsWithGlobals<{ url?: string; key?: string }>();
    await fn(
      { remote: remoteOf(options, configOf(command)), out: outputOf(command) },
      ...(args.slice(0, -1) as A),
    );
  };
}

interface SetOptions {
  unitAmount?: string;
  tiers?: string;
  mode?: string;
  minimum?: string;
  currency?: string;
  effectiveFrom?: string;
}

function tiersOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new StrataError('E_BAD_REQUEST', '--tiers is not valid JSON', undefined, { cause });
  }
}

export function registerBilling(program: Command): void {
  const billing = program
    .command('billing')
    .description('billing report and price book of your tenant, on a running server')
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option(
      '--key <apiKey>',
      'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)',
    );

  billing
    .command('report')
    .description('invoice, usage, trial balance, budgets, holds, resources and tokens for one UTC month')
    .option('--period <YYYY-MM>', 'the UTC month (default: the current one)', parseMonth)
    .action(
      viaServer(async ({ remote, out }, options: { period?: string }) => {
        const period = options.period ?? new Date().toISOString().slice(0, 7);
        const report = await remote.call<ReportView>('billing.report', { period });
        out.result(report, () => renderReport(report));
      }),
    );

  const prices = billing.command('prices').description('versioned prices per meter');

  prices
    .command('set')
    .description('add a price version for a meter (versions are never edited; a new one starts later)')
    .argument('<meter>', 'meter type, e.g. postgres.ready_seconds')
    .option('--unit-amount <decimal>', 'price per unit (up to 12 decimals)')
    .option(
      '--tiers <json>',
      'tiers as JSON: [{"upTo":"100","unitAmount":"0.01","flatAmount":"1.00"},{"upTo":null,…}]',
    )
    .addOption(
      new Option('--mode <mode>', 'how tiers apply (default graduated)').choices(['graduated', 'volume']),
    )
    .option('--minimum <decimal>', 'minimum charge per month when the meter has usage')
    .option('--currency <code>', 'ISO 4217 code (default: the server’s billing currency)')
    .option('--effective-from <time>', 'ISO 8601 time or epoch ms (default: now)')
    .action(
      viaServer(async ({ remote, out }, meter: string, o: SetOptions) => {
        const from = o.effectiveFrom;
        const price = await remote.call<PriceView>('billing.prices.set', {
          meter,
          unitAmount: o.unitAmount,
          tiers: o.tiers === undefined ? undefined : tiersOf(o.tiers),
          mode: o.mode,
          minimum: o.minimum,
          currency: o.currency,
          effectiveFrom: from !== undefined && /^\d+$/.test(from) ? Number(from) : from,
        });
        out.result(price, () => table(PRICE_HEADER, [priceRow(price)]));
      }),
    );

  prices
    .command('ls')
    .description('every price version of your tenant and the global defaults (* = in effect now)')
    .option('--meter <type>', 'only this meter')
    .action(
      viaServer(async ({ remote, out }, o: { meter?: string }) => {
        const list = await remote.call<{ prices: PriceView[] }>('billing.prices.list', { meter: o.meter });
        out.result(list, () =>
          list.prices.length === 0 ? 'no prices' : table(PRICE_HEADER, list.prices.map(priceRow)),
        );
      }),
    );
}
