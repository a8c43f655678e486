/**
 * @module web/testing-reliability
 * Test support for the Reliability view (not exported): faults injected by the runtime's own chaos
 * injector into real `runs.count` calls (seeded, so the same calls fail every time; the pipeline's
 * retries recover them), then a completed and a failed run, so every part of the view has data.
 */
import type { Principal } from '../kernel/index.ts';
import type { DashboardTestEnv } from './testing.ts';

export async function seedReliability(env: DashboardTestEnv): Promise<Principal> {
  const kernel = env.runtime.kernel;
  const principal = await kernel.authenticate({ apiKey: env.adminKey });
  const as = { principal };
  await kernel.call(
    'chaos.set',
    { enabled: true, seed: 3, rules: [{ syscall: 'runs.count', errorRate: 0.4 }] },
    as,
  );
  for (let i = 0; i < 10; i++) await kernel.call('runs.count', {}, as);
  await kernel.call('chaos.set', { enabled: false }, as);
  const ok = await env.start('dash.quick', {});
  const failed = await env.start('dash.quick', { fail: 'on purpose' });
  await env.waitForEnd(ok);
  await env.waitForEnd(failed);
  return principal;
}
