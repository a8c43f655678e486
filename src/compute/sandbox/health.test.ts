// The sandboxes' health reading against real bubblewrap, the clock moved by hand: a driver whose
// bwrap cannot run reads unhealthy with its check's message; sandboxes that fail to start (their
// egress proxy's socket path is too long for a Unix socket: a real listen error) read degraded once
// the burst reaches its threshold; commands killed by the cgroup's OOM killer read degraded too, and
// the burst leaves the window as time passes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { ManualClock } from '../../kernel/index.ts';
import { withCode } from '../../testkit/stores.ts';
import { BubblewrapDriver } from '../drivers/bubblewrap/index.ts';
import { SandboxManager } from './manager.ts';

const dir = mkdtempSync(join(tmpdir(), 'strata-sandbox-health-'));
const clock = new ManualClock(Date.parse('2026-03-01T09:00:00Z'));
const managers: SandboxManager[] = [];
const open = async (name: string, options: Partial<Parameters<typeof SandboxManager.open>[0]> = {}) => {
  const dataDir = join(dir, name);
  const manager = await SandboxManager.open({
    dataDir,
    drivers: [new BubblewrapDriver({ stateDir: join(dataDir, 'state') })],
    tmpfs: 'none',
    clock,
    ...options,
  });
  managers.push(manager);
  return manager;
};
after(async () => {
  for (const m of managers) await m.close();
  rmSync(dir, { recursive: true, force: true });
});

it('a bubblewrap that cannot run reads unhealthy, with the check’s message', async () => {
  const dataDir = join(dir, 'no-bwrap');
  const broken = await open('no-bwrap', {
    drivers: [new BubblewrapDriver({ stateDir: join(dataDir, 'state'), bwrap: join(dir, 'no-such-bwrap') })],
  });
  assert.equal(broken.health.reading().status, 'healthy');
  const since = clock.now();
  await assert.rejects(broken.create({ kind: 'ephemeral' }), withCode('E_UNAVAILABLE'));
  clock.advance(1000);
  await assert.rejects(broken.create({ kind: 'ephemeral' }), withCode('E_UNAVAILABLE'));
  const reading = broken.health.reading();
  assert.equal(reading.status, 'unhealthy');
  assert.equal(reading.id, 'sandbox.drivers');
  assert.match(reading.reason, /driver bubblewrap unavailable: bubblewrap cannot run here/);
  assert.equal(reading.since, since);
});

it('a burst of failed starts, then of OOM kills, reads degraded until it leaves the window', async () => {
  // Each sandbox's egress proxy listens on <runRoot>/<run dir>/<id>.run/proxy.sock: too long here.
  const runRoot = join(dir, 'r'.repeat(120));
  const manager = await open('bursts', { runRoot, health: { startFailureThreshold: 2, oomThreshold: 2 } });
  const networked = { kind: 'ephemeral', network: { allow: ['127.0.0.1:9'] } } as const;
  await assert.rejects(manager.create(networked));
  assert.equal(manager.health.reading().status, 'healthy', 'one failed start is not a burst');
  clock.advance(10_000);
  await assert.rejects(manager.create(networked));
  const starts = manager.health.reading();
  assert.equal(starts.status, 'degraded');
  assert.match(starts.reason, /2 sandboxes failed to start in the last 5 min \(last: .*EINVAL/);
  clock.advance(300_000);
  assert.equal(manager.health.reading().status, 'healthy', 'the failed starts left the window');

  const small = await manager.create({
    kind: 'ephemeral',
    runtimes: ['python3'],
    limits: { memoryBytes: 64 * 1024 * 1024 },
  });
  for (let i = 0; i < 2; i++) {
    const result = await small.exec(['python3', '-c', 'x = bytearray(600 * 1024 * 1024)']);
    assert.ok(result.exceeded.includes('memory'), `exceeded: ${result.exceeded.join(',')} ${result.stderr}`);
  }
  const ooms = manager.health.reading();
  assert.equal(ooms.status, 'degraded');
  assert.match(ooms.reason, /2 commands killed for memory \(OOM\) in the last 5 min/);
  await small.destroy();
});
