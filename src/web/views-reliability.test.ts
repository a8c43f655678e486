// The Reliability view over HTTP, on a real server and runtime (SQLite) seeded by seedReliability:
// faults injected by the runtime's chaos injector into real `runs.count` calls (the pipeline's
// retries recover them), a completed and a failed run. The page shows, per layer, what
// `fleet.reliability` reports (faults, retries, both rates), the end-to-end figures and the
// invariants with their evidence; a bad window is a 400 with a message; a read-only session sees it.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Principal } from '../kernel/index.ts';
import type { ReliabilityReport } from '../orchestration/index.ts';
import { seedReliability } from './testing-reliability.ts';
import { openDashboardEnv, type Browser, type DashboardTestEnv } from './testing.ts';

let env: DashboardTestEnv;
let admin: Browser;
let principal: Principal;
let report: ReliabilityReport;

before(async () => {
  env = await openDashboardEnv();
  admin = await env.login(env.adminKey);
  principal = await seedReliability(env);
  report = await env.runtime.kernel.call<ReliabilityReport>('fleet.reliability', {}, { principal });
});
after(() => env.close());

const rowOf = (text: string, attr: string, value: string): string => {
  const start = text.indexOf(`data-${attr}="${value}"`);
  assert.ok(start >= 0, `no ${attr} ${value}`);
  return text.slice(start, text.indexOf('</tr>', start));
};
const cells = (row: string): string[] =>
  [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => (m[1] ?? '').replace(/<[^>]+>/g, '').trim());

it('shows each layer’s faults and recoveries, the end-to-end rates and the invariants', async () => {
  const orchestration = report.layers.find((l) => l.layer === 'orchestration');
  assert.ok(orchestration && orchestration.faultsInjected > 0, 'chaos failed some runs.count attempts');
  assert.equal(orchestration.recovered.retry, orchestration.faultedCalls - orchestration.failedAfterFault);
  const page = await admin.get('/ui/reliability');
  assert.equal(page.status, 200);
  const row = cells(rowOf(page.text, 'layer', 'orchestration'));
  assert.equal(row[0], 'orchestration');
  assert.equal(row[2], String(orchestration.faultsInjected), 'faults');
  assert.equal(row[3], String(orchestration.recovered.retry), 'retry');
  assert.match(page.text, /<meter min="0" max="1" value="[\d.]+" aria-label="orchestration raw: [\d.]+%">/);
  assert.match(page.text, /Measured with mechanisms<\/dt>\s*<dd>\s*50\.0%/, 'one of two tasks completed');
  assert.match(page.text, /not measured \(the demo/);
  assert.deepEqual(cells(rowOf(page.text, 'invariant', 'audit chain verified')).slice(1, 2), ['holds']);
  assert.match(rowOf(page.text, 'invariant', 'budget never exceeded'), /holds[\s\S]*0 exceeded/);
  assert.match(rowOf(page.text, 'invariant', 'main green at every merge'), /holds/);
  assert.match(
    page.text,
    /<a href="\/ui\/reliability" aria-current="page"\s*>Reliability<\/a/,
    'its nav item',
  );

  const hour = await admin.get('/ui/reliability?since=1h');
  assert.equal(hour.status, 200);
  assert.match(hour.text, /<strong aria-current="page">Last hour<\/strong>/);
  const bad = await admin.get('/ui/reliability?since=forever');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /E_INVALID_INPUT<\/code> no window forever/);

  const reader = await env.login(env.adminKey, { readOnly: true });
  const readOnly = await reader.get('/ui/reliability');
  assert.equal(readOnly.status, 200);
  assert.match(rowOf(readOnly.text, 'invariant', 'audit chain verified'), /holds/);
});
