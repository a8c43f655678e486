import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sseWaker } from './sse-waker.ts';

const timed = async <T>(work: Promise<T>): Promise<{ value: T; ms: number }> => {
  const t0 = performance.now();
  const value = await work;
  return { value, ms: performance.now() - t0 };
};

describe('sseWaker', () => {
  it('a poke ends an idle at once; without one the idle lasts the poll interval', async () => {
    const waker = sseWaker();
    const poked = timed(waker.idle(5_000));
    setTimeout(() => waker.poke(), 20);
    const early = await poked;
    assert.equal(early.value, true);
    assert.ok(early.ms < 1_000, `ended after ${early.ms} ms`);
    const quiet = await timed(waker.idle(60));
    assert.equal(quiet.value, false);
    assert.ok(quiet.ms >= 55, `ended after ${quiet.ms} ms`);
  });

  it('a poke before an idle makes it return at once, and is used up', async () => {
    const waker = sseWaker();
    waker.poke();
    const first = await timed(waker.idle(5_000));
    assert.equal(first.value, true);
    assert.ok(first.ms < 1_000);
    assert.equal(await waker.idle(10), false);
  });

  it('throughPokes: pokes do not end the idle, and are reported when it ends', async () => {
    const waker = sseWaker();
    waker.poke();
    const idle = timed(waker.idle(150, { throughPokes: true }));
    setTimeout(() => waker.poke(), 20);
    setTimeout(() => waker.poke(), 60);
    const held = await idle;
    assert.equal(held.value, true);
    assert.ok(held.ms >= 140, `ended after ${held.ms} ms`);
    assert.equal(await waker.idle(10), false, 'the pokes were reported once');
  });

  it('stop ends any idle at once, throughPokes too, and every idle after it', async () => {
    const waker = sseWaker();
    const idle = timed(waker.idle(5_000, { throughPokes: true }));
    setTimeout(() => waker.stop(), 20);
    assert.ok((await idle).ms < 1_000);
    assert.ok((await timed(waker.idle(5_000))).ms < 100);
    assert.ok((await timed(waker.idle(5_000, { throughPokes: true }))).ms < 100);
  });
});
