// The browser pool's health reading against real Chromium (Debian's), the clock moved by hand: a
// pool whose Chromium path is broken is unhealthy, the launch error as its reason, until a launch
// works; a pool whose one slot stays taken while callers are turned away reads degraded once the
// threshold has passed, healthy again when the slot frees; a session lost to a killed Chromium
// counts toward the crash burst. No Chromium process outlives the test.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { ManualClock, type Store } from '../../kernel/index.ts';
import { createSqliteStore } from '../../kernel/store/drivers/sqlite/index.ts';
import { eventually } from '../../testkit/eventually.ts';
import { withCode } from '../../testkit/stores.ts';
import { BrowserSessions } from './sessions.ts';
import { chromiumDescendants, describeProcesses, waitForNoChromium } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-browser-health-'));
const clock = new ManualClock(Date.parse('2026-03-01T09:00:00Z'));
let store: Store;
const opened: BrowserSessions[] = [];

const sessions = async (options: Partial<Parameters<typeof BrowserSessions.open>[0]>) => {
  const s = await BrowserSessions.open({ store, profilesDir: join(dir, 'profiles'), clock, ...options });
  opened.push(s);
  return s;
};
const open = (s: BrowserSessions) =>
  s.openSession({ tenantId: 't1', principal: 'key_1', allowUrls: ['http://127.0.0.1'] });

before(async () => {
  store = await createSqliteStore({ path: join(dir, 'store.db') });
});
after(async () => {
  for (const s of opened) await s.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const left = await waitForNoChromium();
  assert.deepEqual(left, [], `Chromium processes left:\n${describeProcesses(left)}`);
});

it('a broken Chromium path reads unhealthy with the launch error, since the first failure', async () => {
  const broken = await sessions({ pool: { executablePath: join(dir, 'no-chromium'), spareContexts: 0 } });
  assert.equal(broken.health().status, 'healthy', 'nothing launched yet: nothing failed');
  const first = clock.now();
  await assert.rejects(open(broken), withCode('E_UNAVAILABLE'));
  clock.advance(30_000);
  await assert.rejects(open(broken), withCode('E_UNAVAILABLE'));
  const reading = broken.health();
  assert.equal(reading.status, 'unhealthy');
  assert.equal(reading.id, 'browser.pool');
  assert.match(reading.reason, /cannot launch Chromium at .*no-chromium/);
  assert.equal(reading.since, first, 'since the first failure of the streak, not the last');
});

it('one slot taken while callers are turned away: degraded after the threshold; a crash counts', async () => {
  const pool = { spareContexts: 0, health: { saturatedAfterMs: 60_000, crashThreshold: 1 } };
  const one = await sessions({ maxSessions: 1, pool });
  const session = await open(one);
  assert.equal(one.health().status, 'healthy');
  const full = clock.now();
  await assert.rejects(open(one), withCode('E_RATE_LIMITED'));
  clock.advance(30_000);
  await assert.rejects(open(one), withCode('E_RATE_LIMITED'));
  assert.equal(one.health().status, 'healthy', 'full for 30 s: under the threshold');
  clock.advance(31_000);
  const saturated = one.health();
  assert.equal(saturated.status, 'degraded');
  assert.match(saturated.reason, /all 1 session slots taken for 61 s; 2 callers turned away since/);
  assert.equal(saturated.since, full);
  await one.closeSession({ tenantId: 't1', sessionId: session.id });
  assert.equal(one.health().status, 'healthy', 'a free slot ends the saturation');
  assert.match(one.health().reason, /0 of 1 session slots in use/);

  // Chromium killed under a live session: the session is lost, the crash burst (threshold 1) shows.
  await open(one);
  for (const pid of chromiumDescendants()) process.kill(pid, 'SIGKILL');
  const crashed = await eventually(() => (one.health().status === 'degraded' ? one.health() : undefined));
  assert.match(crashed.reason, /1 sessions lost to Chromium crashes in the last 5 min/);
  clock.advance(301_000);
  assert.equal(one.health().status, 'healthy', 'the crash left the window');
});

it('waitMs: a full pool hands a freed slot to the waiters in arrival order; one whose wait ends is refused', async () => {
  const one = await sessions({ maxSessions: 1, pool: { spareContexts: 0 } });
  const wait = (waitMs: number) =>
    one.openSession({ tenantId: 't1', principal: 'key_1', allowUrls: ['http://127.0.0.1'], waitMs });
  const first = await open(one);
  const order: string[] = [];
  const second = wait(10_000).then((s) => (order.push('second'), s));
  const third = wait(10_000).then((s) => (order.push('third'), s));
  const started = Date.now();
  await assert.rejects(wait(150), withCode('E_RATE_LIMITED'), 'a short wait ends refused');
  assert.ok(Date.now() - started >= 140, 'it waited its 150 ms first');
  assert.deepEqual(order, [], 'nothing freed yet');
  await one.closeSession({ tenantId: 't1', sessionId: first.id });
  const got = await second;
  assert.deepEqual(order, ['second'], 'the freed slot went to the first waiter');
  assert.match(one.health().reason, /1 of 1 session slots in use/, 'the other waiter waits on');
  await one.closeSession({ tenantId: 't1', sessionId: got.id });
  await one.closeSession({ tenantId: 't1', sessionId: (await third).id });
  assert.deepEqual(order, ['second', 'third']);

  // Closing the sessions wakes a waiter, which is told so rather than left to time out.
  const holder = await open(one);
  const refused = assert.rejects(wait(10_000), withCode('E_SHUTTING_DOWN'));
  const closedAt = Date.now();
  await one.close();
  await refused;
  assert.ok(Date.now() - closedAt < 5_000, 'told at once, not after its 10 s wait');
  assert.equal((await one.get({ tenantId: 't1', sessionId: holder.id })).live, false);
});
