// mq.stats must read the same after a restart, so its flake and bisection figures are computed from
// the stored checks, not from the live engine's counters. Here the two are compared on simulated
// runs with flakes and culprits: the figures derived from the checks a store would hold must equal
// what the engine counted while it ran (seeds whose runs hold flakes, culprits and deep bisections).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulate } from './simulate.ts';
import { checkFigures } from './stats.ts';

void describe('merge queue figures from stored checks', () => {
  for (const seed of [1, 2, 4]) {
    it(`equal the engine's counters (5% flakes, 10% culprits, seed ${seed})`, () => {
      const run = simulate({
        seed,
        agents: 20,
        culpritRate: 0.1,
        flakeRate: 0.05,
        batch: { min: 1, max: 8 },
      });
      const { retries, flakes, bisections, maxBisectionDepth } = run.stats;
      assert.ok(flakes > 0 && bisections > 0 && maxBisectionDepth > 1, JSON.stringify(run.stats));
      assert.deepEqual(checkFigures(run.checks), { retries, flakes, bisections, maxBisectionDepth });
    });
  }
});
