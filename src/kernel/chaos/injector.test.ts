// The injector on its own: the same seed faults the same calls (whatever else runs in between), a
// different seed others; rates come out near their setting over 2,000 calls; outage windows open
// and close on the clock (a provider's outage goes to the attempt's scope); the config accepts
// the named faults only; production mode refuses chaos unless forced; kill -9 of a worker process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ManualClock } from '../clock.ts';
import { loadConfig } from '../config.ts';
import { isStrataError } from '../errors.ts';
import { chaosSchema, type ChaosConfigInput } from './config.ts';
import { FAULT_LAYER, NAMED_FAULTS } from './faults.ts';
import { ChaosInjector } from './injector.ts';

const injectorOf = (config: ChaosConfigInput, clock = new ManualClock(0)): ChaosInjector =>
  new ChaosInjector({ config: chaosSchema.parse(config), mode: 'development', clock });

const signal = new AbortController().signal;

/** Calls `syscall` n times (first attempt each) and returns the indices that were faulted. */
async function faulted(
  injector: ChaosInjector,
  syscall: string,
  n: number,
  noise?: string,
): Promise<number[]> {
  const hits: number[] = [];
  for (let i = 0; i < n; i++) {
    if (noise && i % 3 === 0)
      await injector
        .begin(noise)
        ?.before(1, signal)
        .catch(() => undefined);
    const call = injector.begin(syscall);
    assert.ok(call);
    const failed = await call.before(1, signal).then(
      (planned) => planned !== undefined,
      () => true,
    );
    if (failed) hits.push(i);
  }
  return hits;
}

describe('chaos injector', () => {
  const rules = [{ layer: 'memory', errorRate: 0.1 }];

  it('is deterministic per seed and independent of other syscalls’ calls', async () => {
    const a = await faulted(injectorOf({ enabled: true, seed: 7, rules }), 'memory.search', 300);
    const b = await faulted(
      injectorOf({ enabled: true, seed: 7, rules }),
      'memory.search',
      300,
      'memory.write',
    );
    const c = await faulted(injectorOf({ enabled: true, seed: 8, rules }), 'memory.search', 300);
    assert.ok(a.length > 10, `some calls faulted (${a.length})`);
    assert.deepEqual(b, a, 'interleaved memory.write calls do not shift the faulted indices');
    assert.notDeepEqual(c, a, 'another seed faults other calls');
  });

  it('injects at about the configured rate over 2,000 calls, and only in the matching layer', async () => {
    const injector = injectorOf({
      enabled: true,
      seed: 1,
      rules: [
        { layer: 'models', errorRate: 0.03 },
        { syscall: 'mail.*', errorRate: 0.5 },
      ],
    });
    const models = (await faulted(injector, 'model.generate', 2000)).length;
    const mail = (await faulted(injector, 'mail.send', 2000)).length;
    const memory = (await faulted(injector, 'memory.search', 2000)).length;
    assert.ok(models >= 35 && models <= 85, `3 % of 2,000 ≈ 60, got ${models}`);
    assert.ok(mail >= 900 && mail <= 1100, `50 % of 2,000 ≈ 1,000, got ${mail}`);
    assert.equal(memory, 0);
    const status = injector.status();
    assert.equal(status.total, models + mail);
    assert.deepEqual(
      status.faults.map((f) => `${f.layer}/${f.kind}`),
      ['models/error', 'identity/error'],
    );
  });

  it('injects nothing when disabled', async () => {
    const injector = injectorOf({ enabled: false, seed: 1, rules: [{ errorRate: 1 }] });
    assert.deepEqual(await faulted(injector, 'model.generate', 100), []);
    assert.equal(injector.status().total, 0);
  });

  it('errors carry the layer’s transient code, retryable, with data.injected', async () => {
    const injector = injectorOf({ enabled: true, rules: [{ errorRate: 1 }] });
    for (const [syscall, code, layer] of [
      ['model.generate', 'E_MODEL_UNAVAILABLE', 'models'],
      ['mail.send', 'E_MAIL_SEND_FAILED', 'identity'],
      ['sandbox.exec', 'E_UNAVAILABLE', 'compute'],
    ] as const) {
      await assert.rejects(injector.begin(syscall)?.before(1, signal) ?? Promise.resolve(), (error) => {
        assert.ok(isStrataError(error));
        assert.equal(error.code, code);
        assert.equal(error.retryable, true);
        assert.deepEqual(error.data, { injected: true, layer, kind: 'error', rule: 'rules[0]' });
        return true;
      });
    }
  });

  it('adds latency within its bounds, from the seed', async () => {
    const injector = injectorOf({
      enabled: true,
      seed: 3,
      rules: [{ layer: 'tools', latencyMs: { min: 5, max: 15 } }],
    });
    const call = injector.begin('tools.call');
    const started = performance.now();
    assert.equal(await call?.before(1, signal), undefined);
    const [mark] = call?.marks() ?? [];
    assert.equal(mark?.kind, 'latency');
    assert.ok(mark.latencyMs !== undefined && mark.latencyMs >= 5 && mark.latencyMs <= 15);
    assert.ok(performance.now() - started >= mark.latencyMs - 1);
  });

  it('fails every call of a layer while its outage window is open', async () => {
    const clock = new ManualClock(10_000);
    const injector = injectorOf(
      { enabled: true, outages: [{ layer: 'models', startAfterMs: 1000, durationMs: 500 }] },
      clock,
    );
    assert.deepEqual(await faulted(injector, 'model.generate', 20), []);
    clock.advance(1200);
    assert.equal((await faulted(injector, 'model.generate', 20)).length, 20);
    assert.deepEqual(await faulted(injector, 'memory.search', 5), [], 'other layers are up');
    assert.deepEqual(injector.status().openOutages, ['outages[0]']);
    clock.advance(400);
    assert.deepEqual(await faulted(injector, 'model.generate', 20), []);
  });

  it("starts a `from: 'first-call'` outage at the first call it matches, however late that comes", async () => {
    const clock = new ManualClock(10_000);
    const outage = { layer: 'models', startAfterMs: 100, durationMs: 500, from: 'first-call' as const };
    const injector = injectorOf({ enabled: true, outages: [outage] }, clock);
    clock.advance(60_000); // the work reaches the models a minute after chaos was enabled
    assert.deepEqual(await faulted(injector, 'memory.search', 5), [], 'other layers do not start it');
    assert.deepEqual(injector.status().openOutages, []);
    assert.deepEqual(await faulted(injector, 'model.generate', 3), [], 'its clock starts with this call');
    clock.advance(150);
    assert.equal((await faulted(injector, 'model.generate', 5)).length, 5);
    clock.advance(500);
    assert.deepEqual(await faulted(injector, 'model.generate', 5), [], 'over');
    injector.set(chaosSchema.parse({ enabled: true, outages: [outage] }));
    clock.advance(150);
    assert.deepEqual(await faulted(injector, 'model.generate', 1), [], 'a new config starts it again');
    clock.advance(150);
    assert.equal((await faulted(injector, 'model.generate', 2)).length, 2);
  });

  it("hands a provider's outage to the attempt's drivers instead of failing the call", async () => {
    const clock = new ManualClock(0);
    const injector = injectorOf(
      { enabled: true, outages: [{ provider: 'openai', startAfterMs: 0, durationMs: 500 }] },
      clock,
    );
    const call = injector.begin('model.generate');
    const scope = await call?.before(1, signal);
    assert.deepEqual(scope, { outages: [{ provider: 'openai', rule: 'outages[0]', realised: false }] });
    const outage = scope?.outages?.[0];
    assert.ok(outage);
    outage.realised = true; // what chaosProviderDown does when the driver asks for openai
    assert.deepEqual(call?.marks(), [
      { kind: 'outage', layer: 'models', rule: 'outages[0]', attempt: 1, realised: true },
    ]);
    assert.equal(await injector.begin('memory.search')?.before(1, signal), undefined, 'models only');
    clock.advance(500);
    assert.equal(await injector.begin('model.generate')?.before(1, signal), undefined, 'closed');
  });

  it('accepts every named fault in a rule, each owned by a layer, and refuses an unknown name', () => {
    for (const fault of ['browser_crash', 'a2a_timeout', 'memory_search_timeout', 'ledger_conflict']) {
      const parsed = chaosSchema.safeParse({ enabled: true, rules: [{ errorRate: 0.1, fault }] });
      assert.ok(parsed.success, fault);
    }
    for (const fault of NAMED_FAULTS) assert.ok(FAULT_LAYER[fault], `${fault} has a layer`);
    const unknown = chaosSchema.safeParse({ rules: [{ errorRate: 0.1, fault: 'browser_crashed' }] });
    assert.equal(unknown.success, false);
  });

  it('refuses a named fault aimed at a layer or syscall whose driver does not realise it', () => {
    const rule = (r: object) => chaosSchema.safeParse({ enabled: true, rules: [{ errorRate: 0.1, ...r }] });
    assert.ok(rule({ layer: 'compute', fault: 'oom_kill' }).success);
    assert.ok(rule({ syscall: 'mail.*', fault: 'smtp_451' }).success);
    const wrongLayer = rule({ layer: 'models', fault: 'oom_kill' });
    assert.equal(wrongLayer.success, false);
    assert.match(
      wrongLayer.error?.issues[0]?.message ?? '',
      /oom_kill is a fault of the compute layer, not models/,
    );
    const wrongSyscall = rule({ syscall: 'model.generate', fault: 'smtp_451' });
    assert.equal(wrongSyscall.success, false);
    assert.deepEqual(wrongSyscall.error?.issues[0]?.path, ['rules', 0, 'syscall']);
  });

  it('is refused in production mode unless forced', () => {
    const config = chaosSchema.parse({ enabled: true, rules: [{ errorRate: 0.1 }] });
    const clock = new ManualClock(0);
    assert.throws(
      () => new ChaosInjector({ config, mode: 'production', clock }),
      (e) => isStrataError(e) && e.code === 'E_CHAOS_REFUSED',
    );
    const off = new ChaosInjector({ config: chaosSchema.parse({}), mode: 'production', clock });
    assert.throws(
      () => off.set(config),
      (e) => isStrataError(e) && e.code === 'E_CHAOS_REFUSED',
    );
    assert.equal(off.enabled, false, 'a refused set changes nothing');
    off.set({ ...config, force: true });
    assert.equal(off.enabled, true);
  });

  it('reads production mode from NODE_ENV unless the config says otherwise', () => {
    assert.equal(loadConfig({ env: { NODE_ENV: 'production' } }).mode, 'production');
    assert.equal(
      loadConfig({ env: { NODE_ENV: 'production', STRATA_MODE: 'development' } }).mode,
      'development',
    );
    assert.equal(loadConfig({ env: {} }).mode, 'development');
    assert.equal(loadConfig({ env: {} }).chaos.enabled, false);
  });

  it('kills a worker process with SIGKILL at killWorkerAfterMs', () => {
    const script = `
      import { ChaosInjector, chaosSchema, systemClock } from './src/kernel/index.ts';
      const config = chaosSchema.parse({ enabled: true, killWorkerAfterMs: 50 });
      new ChaosInjector({ config, mode: 'development', clock: systemClock }).armWorkerKill();
      setTimeout(() => console.log('survived'), 2000);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('../../../', import.meta.url).pathname,
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    assert.equal(child.stdout, '');
  });
});
