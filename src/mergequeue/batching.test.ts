// The adaptive batch size rule (batching.ts): max until a culprit is seen, then about ln 2 / 2p
// within {min, max}; a young queue's first culprit does not read as a high rate; speculation is
// capped at about ln 2 / p changes; a restarted queue recalls the rate it had seen.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchSizer, PRIOR, RECENT } from './batching.ts';

const sizer = (culprits: number, of: number, bounds = { min: 1, max: 16 }): BatchSizer => {
  const s = new BatchSizer(bounds, true);
  s.recall(Array.from({ length: of }, (_, i) => i < culprits));
  return s;
};

void describe('adaptive batch size', () => {
  it('is max with no culprit seen, and ln 2 / 2p within {min, max} after', () => {
    assert.equal(sizer(0, 100).target, 16);
    assert.equal(sizer(5, 100).target, 7);
    assert.equal(sizer(20, 100).target, 2);
    assert.equal(sizer(50, 100).target, 1);
    assert.equal(sizer(50, 100, { min: 2, max: 8 }).target, 2);
    assert.equal(sizer(1, 100, { min: 1, max: 8 }).target, 8);
  });

  it('reads a young queue against at least PRIOR changes, and forgets beyond RECENT', () => {
    assert.equal(sizer(1, 3).culpritRate, 1 / PRIOR);
    const s = sizer(RECENT, RECENT);
    s.merged(RECENT);
    assert.equal(s.culpritRate, 0);
    assert.equal(s.target, 16);
    assert.deepEqual(s.range, { low: 1, high: 16 });
  });

  it('caps speculation at about ln 2 / p changes; fixed batches never adapt', () => {
    assert.equal(sizer(0, 100).speculation, Number.POSITIVE_INFINITY);
    assert.equal(sizer(5, 100).speculation, 13);
    assert.equal(sizer(50, 100).speculation, 1);
    const fixed = new BatchSizer({ min: 1, max: 8 }, false);
    fixed.recall([true, true, true]);
    assert.equal(fixed.target, 8);
    assert.equal(fixed.speculation, Number.POSITIVE_INFINITY);
  });
});
