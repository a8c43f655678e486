// SlotWaiters without Chromium: one freed slot woken to two waiters is taken by the first in line
// only, the second waits on and takes the next one; a wait that runs out is refused; closing wakes
// the waiters with E_SHUTTING_DOWN.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { StrataError } from '../../kernel/index.ts';
import { withCode } from '../../testkit/stores.ts';
import { SlotWaiters } from './slot-waiters.ts';

const pool = (max: number) => {
  const slots = new SlotWaiters();
  const state = { used: 0, closing: false };
  const reserve = (): boolean => (state.used < max ? ((state.used += 1), true) : false);
  const take = (waitMs: number) =>
    slots.take(waitMs, reserve, {
      refused: () => new StrataError('E_RATE_LIMITED', 'full'),
      closing: () => state.closing,
    });
  const free = (): void => {
    state.used -= 1;
    slots.wake();
  };
  return { slots, state, take, free };
};

it('one freed slot goes to the first waiter only; the next waits for the next slot', async () => {
  const p = pool(1);
  await p.take(0);
  const order: string[] = [];
  const first = p.take(10_000).then(() => order.push('first'));
  const second = p.take(10_000).then(() => order.push('second'));
  p.free();
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['first'], 'the second waiter did not take the same slot');
  assert.equal(p.state.used, 1, 'one slot, one holder');
  p.free();
  await second;
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(p.state.used, 1);
});

it('a wait that runs out is refused; closing wakes the waiters with E_SHUTTING_DOWN', async () => {
  const p = pool(1);
  await p.take(0);
  await assert.rejects(p.take(0), withCode('E_RATE_LIMITED'), 'no wait: refused at once');
  await assert.rejects(p.take(30), withCode('E_RATE_LIMITED'), 'a short wait ends refused');
  const waiting = assert.rejects(p.take(10_000), withCode('E_SHUTTING_DOWN'));
  p.state.closing = true;
  p.slots.wake();
  await waiting;
  assert.equal(p.state.used, 1, 'a refused waiter reserved nothing');
});
