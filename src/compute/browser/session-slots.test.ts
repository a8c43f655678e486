// SessionSlots without Chromium: one freed slot woken to two waiters goes to the first in line
// only (the double booking CI caught in health.test.ts); a wait that runs out is refused and
// counted; a profile open elsewhere is refused at once and freed by a failed open or a close;
// closing wakes the waiters with E_SHUTTING_DOWN.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { withCode } from '../../testkit/stores.ts';
import { SessionSlots } from './session-slots.ts';

const slotsOf = (max: number) => {
  const state = { live: 0, refused: 0, closing: false };
  const slots = new SessionSlots(max, () => state.live, {
    refused: () => (state.refused += 1),
    closing: () => state.closing,
  });
  /** Takes a slot and opens: the hold ends as the session goes live. */
  const open = async (waitMs: number) => {
    (await slots.take(waitMs)).opened();
    state.live += 1;
  };
  const close = (): void => {
    state.live -= 1;
    slots.closed(null);
  };
  return { slots, state, open, close };
};

it('one freed slot goes to the first waiter only; the next waits for the next slot', async () => {
  const s = slotsOf(1);
  await s.open(0);
  const order: string[] = [];
  const first = s.slots.take(10_000).then((hold) => (order.push('first'), hold));
  const second = s.slots.take(10_000).then((hold) => (order.push('second'), hold));
  s.close();
  const held = await first;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['first'], 'the second waiter did not take the same slot');
  assert.equal(s.slots.inUse, 1, 'one slot, one holder (opening)');
  held.failed(); // its open failed: the slot is free again, and the next waiter takes it
  (await second).opened();
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(s.slots.inUse, 0, 'the opened hold ended (the test counts no live session for it)');
});

it('a wait that runs out is refused and counted; closing wakes the waiters with E_SHUTTING_DOWN', async () => {
  const s = slotsOf(1);
  await s.open(0);
  await assert.rejects(s.slots.take(0), withCode('E_RATE_LIMITED'), 'no wait: refused at once');
  const started = Date.now();
  await assert.rejects(s.slots.take(30), /waited 30 ms/);
  assert.ok(Date.now() - started >= 25, 'it waited first');
  assert.equal(s.state.refused, 2);
  const waiting = assert.rejects(s.slots.take(10_000), withCode('E_SHUTTING_DOWN'));
  s.state.closing = true;
  s.slots.wake();
  await waiting;
  assert.equal(s.slots.inUse, 1, 'the refused callers reserved nothing');
});

it('a profile open in another session is refused at once, and free again after a failed open or a close', async () => {
  const s = slotsOf(4);
  const profile = { key: 't1/shop', name: 'shop' };
  const hold = await s.slots.take(0, profile);
  await assert.rejects(s.slots.take(10_000, profile), (error: unknown) => {
    assert.ok(withCode('E_CONFLICT')(error));
    assert.match((error as Error).message, /profile "shop" is already open/);
    return true;
  });
  assert.equal(s.slots.inUse, 1, 'the conflict took no slot');
  (await s.slots.take(0, { key: 't2/shop', name: 'shop' })).failed(); // another tenant's: its own
  hold.failed();
  hold.failed(); // twice changes nothing
  assert.equal(s.slots.inUse, 0);
  (await s.slots.take(0, profile)).opened();
  s.state.live += 1;
  await assert.rejects(s.slots.take(0, profile), withCode('E_CONFLICT'), 'held while live');
  s.state.live -= 1;
  s.slots.closed(profile);
  (await s.slots.take(0, profile)).failed();
});
