// The property test of issue 13: 50 agents × 10 changes through the pure engine with simulated
// checks (random culprits, flakes, dependencies), over several seeds and configurations. For each
// run: main never holds a failing tree; every change that is not a culprit merges (unless it
// depends on one, or two flakes in a row framed it — counted and printed, never hidden); culprits
// are named; useful checks ≤ ⌈N/B⌉ + E·(2⌈log₂B⌉+2) + F (E named culprits, F flaky failures, each
// costing at most one retry; F = 0 without flakes, which is the bound exactly). Speculative
// checks thrown away behind a failing head are Zuul's price for latency: printed separately.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, serialChecks, simulate, type SimulationOptions } from './simulate.ts';

interface Case {
  readonly name: string;
  readonly options: Omit<SimulationOptions, 'seed'>;
}

const CASES: readonly Case[] = [
  {
    name: 'no flakes, 5% culprits, B=8',
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
    name: 'no flakes, 20% culprits, B=16',
    options: { culpritRate: 0.2, flakeRate: 0, batch: { min: 1, max: 16 } },
  },
];
const SEEDS = [1, 2, 3, 42, 1337];

void describe('merge queue engine, property test (simulated checks)', () => {
  for (const { name, options } of CASES) {
    it(name, () => {
      for (const seed of SEEDS) {
        const run = simulate({ ...options, seed });
        const label = `${name}, seed ${seed}`;
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
            assert.ok(
              run.flakyChecks.has(entry.failedCheck ?? ''),
              `${label}: innocent ${entry.id} rejected`,
            );
            framed += 1;
          }
        }
        const named = new Set(run.stats.culprits);
        for (const culprit of run.culprits) {
          const entry = byId.get(culprit);
          if (entry?.state === 'rejected')
            assert.ok(named.has(culprit), `${label}: culprit ${culprit} not named`);
          else
            assert.equal(entry?.state, 'needs_rework', `${label}: culprit ${culprit} ended ${entry?.state}`);
        }
        const n = run.changes;
        const b = options.batch.max;
        const e = run.stats.culprits.length;
        const bound = Math.ceil(n / b) + e * (2 * Math.ceil(Math.log2(b)) + 2) + run.flakyFailures;
        const useful = run.stats.checks - run.stats.discarded;
        assert.ok(useful <= bound, `${label}: ${useful} checks > bound ${bound}`);
        const serial = serialChecks(run, { seed, flakeRate: options.flakeRate });
        const merged = run.entries.filter((x) => x.state === 'merged').length;
        process.stdout.write(
          `${JSON.stringify({
            case: name,
            seed,
            changes: n,
            culprits: run.culprits.size,
            named: e,
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
});
