// The property test of issue 13: 50 agents × 10 changes through the pure engine with simulated
// checks (random culprits, flakes, dependencies), over several seeds and configurations. For each
// run: main never holds a failing tree; every change that is not a culprit merges (unless it
// depends on one, or two flakes in a row framed it — counted and printed, never hidden); culprits
// are named; useful checks ≤ ⌈N/B_low⌉ + E·(2⌈log₂B_high⌉+2) + F (E named culprits, F flaky
// failures, each costing at most one retry; B_low and B_high the smallest and largest batch sizes
// used: every batch holds at least B_low changes while enough wait, and a bisection of at most
// B_high halves ⌈log₂B_high⌉ times; with a fixed B and no flakes this is the bound
// exactly). Speculative checks thrown away behind a failing head are Zuul's price for latency:
// printed separately. The batch size adapts to the culprit rate (`batching.ts`); the last test
// compares it with fixed batches at 0, 5, 20 and 50 % culprits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  percentile,
  serialChecks,
  simulate,
  type SimulationOptions,
  type SimulationResult,
} from './simulate.ts';

interface Case {
  readonly name: string;
  readonly options: Omit<SimulationOptions, 'seed'>;
}

const CASES: readonly Case[] = [
  {
    name: 'no flakes, 5% culprits, fixed B=8',
    options: { culpritRate: 0.05, flakeRate: 0, batch: { min: 1, max: 8 }, adaptiveBatch: false },
  },
  {
    name: 'no flakes, 5% culprits, B adaptive up to 8',
    options: { culpritRate: 0.05, flakeRate: 0, batch: { min: 1, max: 8 } },
  },
  {
    name: 'no flakes, 5% culprits, B=8, jump ahead',
    options: { culpritRate: 0.05, flakeRate: 0, batch: { min: 1, max: 8 }, jumpAhead: true },
  },
  {
    name: 'no flakes, 5% culprits, B=8, no speculation',
    options: {
      culpritRate: 0.05,
      flakeRate: 0,
      batch: { min: 1, max: 8 },
      window: { initial: 1, floor: 1, ceiling: 1 },
    },
  },
  {
    name: '2% flakes, 5% culprits, B=8',
    options: { culpritRate: 0.05, flakeRate: 0.02, batch: { min: 2, max: 8 } },
  },
  {
    name: '5% flakes, 2% culprits, B=4, jump ahead',
    options: { culpritRate: 0.02, flakeRate: 0.05, batch: { min: 1, max: 4 }, jumpAhead: true },
  },
  {
    name: 'no flakes, 20% culprits, B adaptive up to 16',
    options: { culpritRate: 0.2, flakeRate: 0, batch: { min: 1, max: 16 } },
  },
];
const SEEDS = [1, 2, 3, 42, 1337];

/** Asserts the properties on one run; returns what the report line prints. */
function checkRun(run: SimulationResult, label: string): { framed: number; useful: number; bound: number } {
  assert.deepEqual(run.violations, [], label);
  assert.equal(run.mainRed, 0, `${label}: main held a failing tree`);
  const byId = new Map(run.entries.map((e) => [e.id, e]));
  let framed = 0;
  for (const entry of run.entries) {
    if (entry.state === 'merged') {
      assert.ok(!run.culprits.has(entry.id), `${label}: culprit ${entry.id} merged`);
      continue;
    }
    if (entry.state === 'needs_rework') {
      const blocker = entry.dependsOn.find((dep) => byId.get(dep)?.state !== 'merged');
      assert.ok(blocker !== undefined, `${label}: ${entry.id} needs rework without a dead dependency`);
      continue;
    }
    assert.equal(entry.state, 'rejected', `${label}: ${entry.id} ended ${entry.state}`);
    if (!run.culprits.has(entry.id)) {
      // Only two flaky failures in a row on the same tree can frame an innocent change.
      assert.ok(run.flakyChecks.has(entry.failedCheck ?? ''), `${label}: innocent ${entry.id} rejected`);
      framed += 1;
    }
  }
  const named = new Set(run.stats.culprits);
  for (const culprit of run.culprits) {
    const entry = byId.get(culprit);
    if (entry?.state === 'rejected') assert.ok(named.has(culprit), `${label}: culprit ${culprit} not named`);
    else assert.equal(entry?.state, 'needs_rework', `${label}: culprit ${culprit} ended ${entry?.state}`);
  }
  const n = run.changes;
  const { low, high } = run.stats.batchRange;
  const e = run.stats.culprits.length;
  const bound = Math.ceil(n / low) + e * (2 * Math.ceil(Math.log2(high)) + 2) + run.flakyFailures;
  const useful = run.stats.checks - run.stats.discarded;
  assert.ok(useful <= bound, `${label}: ${useful} checks > bound ${bound}`);
  return { framed, useful, bound };
}

void describe('merge queue engine, property test (simulated checks)', () => {
  for (const { name, options } of CASES) {
    it(name, () => {
      for (const seed of SEEDS) {
        const run = simulate({ ...options, seed });
        const label = `${name}, seed ${seed}`;
        const { framed, useful, bound } = checkRun(run, label);
        const serial = serialChecks(run, { seed, flakeRate: options.flakeRate });
        const merged = run.entries.filter((x) => x.state === 'merged').length;
        process.stdout.write(
          `${JSON.stringify({
            case: name,
            seed,
            changes: run.changes,
            culprits: run.culprits.size,
            named: run.stats.culprits.length,
            batch_range: run.stats.batchRange,
            framed_by_flakes: framed,
            flaky_failures: run.flakyFailures,
            merged,
            checks: run.stats.checks,
            discarded_speculative: run.stats.discarded,
            superseded: run.stats.superseded,
            useful_checks: useful,
            bound,
            serial_checks: serial,
            ratio_vs_serial: Number((run.stats.checks / serial).toFixed(3)),
            max_bisection_depth: run.stats.maxBisectionDepth,
            queue_time_p50: Number(percentile(run.queueTimes, 50).toFixed(1)),
            queue_time_p95: Number(percentile(run.queueTimes, 95).toFixed(1)),
            elapsed: Number(run.elapsed.toFixed(1)),
          })}\n`,
        );
      }
    });
  }

  it('adaptive batches cost no more checks than fixed ones, and fewer at high culprit rates', () => {
    const rows = [];
    for (const rate of [0, 0.05, 0.2, 0.5]) {
      const checks = { fixed: 0, adaptive: 0, serial: 0 };
      for (const seed of [1, 2]) {
        for (const adaptiveBatch of [false, true]) {
          const options = {
            seed,
            culpritRate: rate,
            flakeRate: 0.02,
            batch: { min: 1, max: 16 },
            adaptiveBatch,
          };
          const run = simulate(options);
          checkRun(run, `${rate} culprits, ${adaptiveBatch ? 'adaptive' : 'fixed'}, seed ${seed}`);
          checks[adaptiveBatch ? 'adaptive' : 'fixed'] += run.stats.checks;
          if (adaptiveBatch) checks.serial += serialChecks(run, options);
        }
      }
      const ratio = (n: number): number => Number((n / checks.serial).toFixed(2));
      rows.push({
        culprits: rate,
        fixed_vs_serial: ratio(checks.fixed),
        adaptive_vs_serial: ratio(checks.adaptive),
      });
      // At 0 % nothing adapts; at 5 % the two are within noise; from 20 % adapting must pay.
      if (rate === 0) assert.equal(checks.adaptive, checks.fixed);
      else if (rate < 0.1)
        assert.ok(checks.adaptive <= checks.fixed * 1.15, `${rate}: ${JSON.stringify(checks)}`);
      else assert.ok(checks.adaptive < checks.fixed * 0.9, `${rate}: ${JSON.stringify(checks)}`);
    }
    process.stdout.write(`${JSON.stringify({ batch: 'adaptive vs fixed, max 16, 2% flakes', rows })}\n`);
  });
});
