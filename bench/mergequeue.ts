// `npm run bench -- mergequeue`: the merge queue's decisions side by side on the same changes
// (500 from 50 agents, some depending on earlier ones, 2 % flaky checks), at culprit rates 0 %,
// 5 % and 20 %: Strata's queue (speculative batches, adaptive window), batches without speculation
// (window 1), and one change at a time (bors's serial mode, a failure retried once). Checks are
// simulated (the same engine the git driver runs; one check = one unit, taken here as 10 minutes
// of check time) so the comparison isolates the queue's strategy from the speed of a test suite.
// Prints a table, then one JSON line; main_red_commits counts advances of main to a tree holding a
// culprit (must be 0).
import { seededRandom, simulate, type SimulationResult } from '../src/mergequeue/index.ts';
import { percentile, round, table } from './_util.ts';

const CHECK_MINUTES = 10;
const SEEDS = [1, 2, 3];
const FLAKE = 0.02;

interface Figures {
  merged: number;
  checks: number;
  checkHours: number;
  waits: number[];
  red: number;
}

const empty = (): Figures => ({ merged: 0, checks: 0, checkHours: 0, waits: [], red: 0 });

function fromQueue(into: Figures, run: SimulationResult): void {
  into.merged += run.entries.filter((e) => e.state === 'merged').length;
  into.checks += run.stats.checks;
  into.checkHours += (run.stats.checks * CHECK_MINUTES) / 60;
  into.waits.push(...run.queueTimes.map((t) => t * CHECK_MINUTES));
  into.red += run.mainRed;
}

/** One at a time on the same changes and culprits: each alone on main, a failure retried once. */
function serial(into: Figures, run: SimulationResult, seed: number): void {
  const random = seededRandom(seed ^ 0x5e71a1);
  const dead = new Set<string>();
  let now = 0;
  for (const entry of run.entries) {
    if (entry.dependsOn.some((d) => dead.has(d))) {
      dead.add(entry.id);
      into.waits.push(now * CHECK_MINUTES);
      continue;
    }
    let pass = false;
    for (let attempt = 0; attempt < 2 && !pass; attempt++) {
      now += 0.8 + random() * 0.4;
      into.checks += 1;
      into.checkHours += CHECK_MINUTES / 60;
      pass = !run.culprits.has(entry.id) && random() >= FLAKE;
    }
    if (pass) into.merged += 1;
    else dead.add(entry.id);
    into.waits.push(now * CHECK_MINUTES);
  }
}

const rows: (string | number)[][] = [
  [
    'culprits',
    'strategy',
    'merged',
    'checks',
    'checks/merge',
    'merged/check-hour',
    'queue p50 min',
    'queue p95 min',
  ],
];
const summary: Record<string, number> = {};
let red = 0;
for (const rate of [0, 0.05, 0.2]) {
  const strata = empty();
  const batches = empty();
  const oneByOne = empty();
  for (const seed of SEEDS) {
    const base = { seed, culpritRate: rate, flakeRate: FLAKE, batch: { min: 1, max: 8 } };
    const run = simulate(base);
    fromQueue(strata, run);
    fromQueue(batches, simulate({ ...base, window: { initial: 1, floor: 1, ceiling: 1 } }));
    serial(oneByOne, run, seed);
  }
  const pct = `${Math.round(rate * 100)}pct`;
  for (const [name, f] of [
    ['strata', strata],
    ['batches, no speculation', batches],
    ['one at a time', oneByOne],
  ] as const) {
    const waits = [...f.waits].sort((a, b) => a - b);
    rows.push([
      `${Math.round(rate * 100)} %`,
      name,
      f.merged,
      f.checks,
      round(f.checks / f.merged, 3),
      round(f.merged / f.checkHours, 2),
      round(percentile(waits, 50), 0),
      round(percentile(waits, 95), 0),
    ]);
    red += f.red;
  }
  summary[`checks_per_merge_vs_serial_${pct}`] = round(
    strata.checks / strata.merged / (oneByOne.checks / oneByOne.merged),
    3,
  );
  summary[`checks_per_merge_vs_batches_${pct}`] = round(
    strata.checks / strata.merged / (batches.checks / batches.merged),
    3,
  );
  const p95 = (f: Figures): number =>
    percentile(
      [...f.waits].sort((a, b) => a - b),
      95,
    );
  summary[`queue_p95_vs_serial_${pct}`] = round(p95(strata) / p95(oneByOne), 3);
}
process.stdout.write(`${table(rows)}\n`);
process.stdout.write(
  `(${SEEDS.length} seeds × 500 changes per row; 2 % flaky checks; one check = ${CHECK_MINUTES} min of check time)\n`,
);
process.stdout.write(`${JSON.stringify({ bench: 'mergequeue', ...summary, main_red_commits: red })}\n`);
