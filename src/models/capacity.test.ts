// The capacity bucket's arithmetic under mocked time (requests/min, tokens/min with the reservation
// corrected by real usage, concurrency, a Retry-After pause), round-robin fairness across tenants,
// aborted waiters leaving the queue, and config that names the bad key.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { isStrataError } from '../kernel/index.ts';
import { bucketLimits, parseModelsConfig } from './config.ts';
import { CapacityBucket, type Admission, type BucketLimits } from './limiter.ts';

const UNLIMITED: BucketLimits = {
  requestsPerSecond: Infinity,
  requestBurst: Infinity,
  tokensPerMinute: Infinity,
  maxConcurrency: 1_000,
};

/** Lets granted promises run their continuations (setImmediate is not mocked). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Starts an acquire and records when it was granted. */
function track(bucket: CapacityBucket, call: Parameters<CapacityBucket['acquire']>[0]) {
  const t: { admission?: Admission; error?: unknown } = {};
  bucket.acquire(call).then(
    (a) => (t.admission = a),
    (e: unknown) => (t.error = e),
  );
  return t;
}

/** The admission of a tracked call, failing the test when it was not granted. */
function granted(t: { admission?: Admission }): Admission {
  assert.ok(t.admission, 'granted');
  return t.admission;
}

function mockTime(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
}

describe('capacity bucket', () => {
  it('admits requests per minute: a full bucket, then one every 60/rpm seconds', async (t) => {
    mockTime(t);
    const bucket = new CapacityBucket({ ...UNLIMITED, requestsPerSecond: 3 / 60, requestBurst: 3 });
    const calls = [1, 2, 3, 4].map(() => track(bucket, { tenant: 'a' }));
    await settle();
    assert.deepEqual(
      calls.map((c) => c.admission !== undefined),
      [true, true, true, false],
    );
    assert.deepEqual(bucket.state().requests, { used: 3, limit: 3 });
    assert.equal(bucket.state().queued, 1);
    t.mock.timers.tick(19_000);
    await settle();
    assert.equal(calls[3]?.admission, undefined, 'one request comes back only after 20 s');
    t.mock.timers.tick(1_100);
    await settle();
    assert.ok(calls[3]?.admission);
  });

  it('reserves tokens at the estimate and corrects them with the real usage', async (t) => {
    mockTime(t);
    const bucket = new CapacityBucket({ ...UNLIMITED, tokensPerMinute: 1_000 });
    const first = track(bucket, { tenant: 'a', tokens: 600 });
    const second = track(bucket, { tenant: 'a', tokens: 600 });
    await settle();
    assert.equal(second.admission, undefined, '600 + 600 > 1000');
    assert.deepEqual(bucket.state().tokens, { used: 600, limit: 1_000 });
    granted(first).settle(100); // used far less than reserved: 500 tokens come back at once
    await settle();
    assert.deepEqual(bucket.state().tokens, { used: 700, limit: 1_000 });
    granted(second).settle(1_900); // used far more: the bucket goes into debt
    assert.deepEqual(bucket.state().tokens, { used: 2_000, limit: 1_000 });
    const third = track(bucket, { tenant: 'a', tokens: 100 });
    t.mock.timers.tick(60_000); // one minute refills 1000: still 100 short of the 100 asked
    await settle();
    assert.equal(third.admission, undefined);
    t.mock.timers.tick(6_100);
    await settle();
    // Admitted once the debt is paid and 100 tokens are back.
    granted(third).settle(100);
    // An estimate above the whole bucket waits for a full bucket instead of never fitting.
    const huge = track(bucket, { tenant: 'a', tokens: 50_000 });
    t.mock.timers.tick(60_000);
    await settle();
    assert.ok(huge.admission);
  });

  it('caps concurrency: the third call goes when one of two finishes', async () => {
    const bucket = new CapacityBucket({ ...UNLIMITED, maxConcurrency: 2 });
    const calls = [1, 2, 3].map(() => track(bucket, { tenant: 'a' }));
    await settle();
    assert.equal(calls[2]?.admission, undefined);
    assert.deepEqual(bucket.state().concurrency, { used: 2, limit: 2 });
    calls[0]?.admission?.settle();
    calls[0]?.admission?.settle(); // settling twice frees one slot only
    await settle();
    assert.ok(calls[2]?.admission);
    assert.deepEqual(bucket.state().concurrency, { used: 2, limit: 2 });
  });

  it('holds everyone back until a Retry-After pause ends', async (t) => {
    mockTime(t);
    const bucket = new CapacityBucket(UNLIMITED);
    bucket.pause(Date.now() + 1_000);
    const call = track(bucket, { tenant: 'b' });
    await settle();
    assert.equal(call.admission, undefined);
    assert.equal(bucket.state().pausedUntil, Date.now() + 1_000);
    t.mock.timers.tick(999);
    await settle();
    assert.equal(call.admission, undefined);
    t.mock.timers.tick(2);
    await settle();
    assert.ok(call.admission);
    assert.equal(bucket.state().pausedUntil, null);
  });

  it('serves tenants round-robin: one call of B is not queued behind 1000 of A', async (t) => {
    const bucket = new CapacityBucket({ ...UNLIMITED, maxConcurrency: 1 });
    const order: string[] = [];
    const run = async (tenant: string, i: number): Promise<void> => {
      const a = await bucket.acquire({ tenant });
      order.push(`${tenant}${i}`);
      setImmediate(() => a.settle());
    };
    const all = [
      ...Array.from({ length: 1_000 }, (_, i) => run('a', i)),
      run('b', 0),
      run('c', 0),
      run('c', 1),
    ];
    await Promise.all(all);
    assert.equal(order.length, 1_003);
    t.diagnostic(`fairness: first 6 admitted ${order.slice(0, 6).join(' ')}`);
    // a0 goes at once; then the ring is a, b, c, and a tenant served moves to its back.
    assert.deepEqual(order.slice(0, 6), ['a0', 'a1', 'b0', 'c0', 'a2', 'c1']);
    assert.equal(order.indexOf('b0'), 2, 'B waits for two calls, not a thousand');
  });

  it('an aborted waiter leaves the queue and the next one gets its turn', async () => {
    const bucket = new CapacityBucket({ ...UNLIMITED, maxConcurrency: 1 });
    const holder = await bucket.acquire({ tenant: 'a' });
    const controller = new AbortController();
    const leaving = track(bucket, { tenant: 'a', signal: controller.signal });
    const staying = track(bucket, { tenant: 'b' });
    await settle();
    assert.equal(bucket.state().queued, 2);
    controller.abort();
    await settle();
    assert.ok(leaving.error, 'the aborted acquire rejects');
    assert.equal(bucket.state().queued, 1);
    holder.settle();
    await settle();
    assert.ok(staying.admission);
    assert.equal(leaving.admission, undefined);
    assert.deepEqual(bucket.state().concurrency, { used: 1, limit: 1 });
    await assert.rejects(bucket.acquire({ tenant: 'a', signal: AbortSignal.abort() }));
  });
});

describe('capacity config', () => {
  const provider = (capacity: unknown) => ({
    name: 'p',
    driver: 'scripted',
    models: ['m1', 'm2'],
    maxConcurrency: 4,
    ...(capacity === undefined ? {} : { capacity }),
  });

  it('resolves a model override, then the provider default, then the older rateLimit', () => {
    const config = parseModelsConfig({
      providers: [
        provider({
          requestsPerMinute: 600,
          tokensPerMinute: 90_000,
          models: { m2: { tokensPerMinute: 10 } },
        }),
        { ...provider(undefined), name: 'q', rateLimit: { requestsPerSecond: 2, burst: 5 } },
      ],
    });
    const [p, q] = config.providers;
    assert.ok(p && q);
    assert.deepEqual(bucketLimits(p, 'm1'), {
      requestsPerSecond: 10,
      requestBurst: 600,
      tokensPerMinute: 90_000,
      maxConcurrency: 4,
    });
    assert.equal(bucketLimits(p, 'm2').tokensPerMinute, 10);
    assert.deepEqual(bucketLimits(q, 'm1'), {
      requestsPerSecond: 2,
      requestBurst: 5,
      tokensPerMinute: Infinity,
      maxConcurrency: 4,
    });
  });

  it('refuses negative, non-numeric and misplaced limits with E_CONFIG naming the key', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ tokensPerMinute: -5 }, 'models.providers.0.capacity.tokensPerMinute', /positive number/],
      [{ requestsPerMinute: 'lots' }, 'models.providers.0.capacity.requestsPerMinute', /positive number/],
      [{ maxConcurrency: 1.5 }, 'models.providers.0.capacity.maxConcurrency', /whole number/],
      [
        { models: { m1: { tokensPerMinute: 0 } } },
        'models.providers.0.capacity.models.m1.tokensPerMinute',
        /positive/,
      ],
      [
        { models: { nope: { tokensPerMinute: 5 } } },
        'models.providers.0.capacity.models.nope',
        /does not serve/,
      ],
      [{ tokensPerMinut: 5 }, 'models.providers.0.capacity', /tokensPerMinut/],
    ];
    for (const [capacity, key, message] of cases)
      assert.throws(
        () => parseModelsConfig({ providers: [provider(capacity)] }),
        (error: unknown) =>
          isStrataError(error) &&
          error.code === 'E_CONFIG' &&
          (error.data as { key: string }).key === key &&
          message.test(error.message),
        `${JSON.stringify(capacity)} → ${key}`,
      );
  });
});
