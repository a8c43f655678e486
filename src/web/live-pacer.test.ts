// The pacing of a live page's renders: a burst is one render, at most one per interval, on ticks
// shared by every stream so the pages on one view render together.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { COALESCE_MS, LivePacer, TICK_MS } from './live-pacer.ts';

it('renders a burst once, on a shared tick, no sooner than the interval after the last render', () => {
  const pacer = new LivePacer(250);
  assert.equal(pacer.dueAt(), Infinity, 'nothing marked, nothing due');
  const t0 = 1_000_010;
  pacer.mark(t0);
  pacer.mark(t0 + 30); // the same burst: the first event decides
  const due = pacer.dueAt();
  assert.equal(due % TICK_MS, 0, 'on a tick');
  assert.ok(due >= t0 + COALESCE_MS && due < t0 + COALESCE_MS + TICK_MS, `due ${due - t0} ms after`);
  pacer.rendered(due);
  assert.equal(pacer.dueAt(), Infinity, 'shown');
  pacer.mark(due + 1);
  const next = pacer.dueAt();
  assert.equal(next % TICK_MS, 0);
  assert.ok(next >= due + 250 && next < due + 250 + TICK_MS, `next ${next - due} ms after the last`);
  // Another stream woken by the same events renders on the same tick.
  const other = new LivePacer(250);
  other.mark(t0 + 5);
  assert.equal(other.dueAt(), due);
});
