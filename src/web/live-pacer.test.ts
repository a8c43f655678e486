// The pacing of a live page's renders: a burst is one render, at most one per interval, on a grid
// shared by every stream so the pages on one view render together, and a page never drifts off it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LivePacer } from './live-pacer.ts';

const INTERVAL = 250;

it('renders a burst once, on the shared grid, no sooner than the interval after the last render', () => {
  const pacer = new LivePacer(INTERVAL);
  assert.equal(pacer.dueAt(), Infinity, 'nothing marked, nothing due');
  assert.equal(pacer.pending, false);
  const t0 = 1_000_010;
  pacer.mark(t0);
  pacer.mark(t0 + 30); // the same burst: the first event decides
  assert.equal(pacer.pending, true);
  const due = pacer.dueAt();
  assert.equal(due % INTERVAL, 0, 'on the grid');
  assert.ok(due >= t0 && due < t0 + INTERVAL, `due ${due - t0} ms after`);
  pacer.rendered(due + 3); // the render finished a little after the grid point
  assert.equal(pacer.dueAt(), Infinity, 'shown');
  assert.equal(pacer.pending, false);
  pacer.mark(due + 4);
  assert.equal(
    pacer.dueAt(),
    due + INTERVAL,
    'the next grid point: the render time did not push it one further',
  );
  // Another stream woken by the same events renders on the same point.
  const other = new LivePacer(INTERVAL);
  other.mark(t0 + 5);
  assert.equal(other.dueAt(), due);
});

it('keeps a page that renders late on the grid, and quiet pages render soon after an event', () => {
  const pacer = new LivePacer(INTERVAL);
  pacer.mark(1_000_000);
  const due = pacer.dueAt();
  pacer.rendered(due + 300); // a slow render, past the next point
  pacer.mark(due + 301);
  const next = pacer.dueAt();
  assert.equal(next % INTERVAL, 0);
  assert.equal(next, due + 2 * INTERVAL, 'the point after the one the slow render ended in');
  pacer.rendered(next);
  pacer.mark(next + 10_000); // long quiet, then one event
  const soon = pacer.dueAt();
  assert.ok(soon >= next + 10_000 && soon < next + 10_000 + INTERVAL, 'the next grid point');
});
