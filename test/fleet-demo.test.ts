// `npm run demo` with 8 agents in a child process, as a user runs it: its last line is one JSON
// object whose figures must agree with each other (every task done once, every injected fault
// recovered, a cost per task, all six layers used).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DemoReport } from '../examples/demo/report.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
    const child = spawn(process.execPath, ['examples/demo/fleet-demo.ts', ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('npm run demo -- --agents 8: every task done once, faults injected and recovered, cost per task, six layers', async () => {
  const result = await runDemo(['--agents', '8', '--seed', '3']);
  assert.equal(result.code, 0, result.stderr);
  const last = result.stdout.trimEnd().split('\n').at(-1) ?? '';
  const r = JSON.parse(last) as DemoReport;
  assert.equal(r.agents, 8);
  assert.equal(r.team, 'completed');
  assert.deepEqual(r.tasks, { total: 8, done: 8, lost: 0 });
  assert.equal(r.runs.completed, 8, 'one completed agent run per task, none twice');
  assert.equal(r.duplicateWork, 0);
  // One summary per issue reached the lead's inbox over SMTP (a resent one would be counted apart).
  assert.equal(r.mails.received - r.mails.duplicated, 8);

  const { faults, recovered } = r;
  assert.ok(faults.total > 0);
  assert.equal(
    faults.total,
    faults.model429 + faults.model503 + faults.sandbox + faults.agentCrash + faults.workerKill,
  );
  assert.equal(
    recovered.modelRetries,
    faults.model429 + faults.model503,
    'each model fault answered on a retry',
  );
  assert.ok(recovered.sandboxRetries >= faults.sandbox, 'each crashed or hung sandbox command was run again');
  assert.ok(faults.agentCrash >= 1 && recovered.supervisorRestarts >= faults.agentCrash, 'crashes restarted');
  assert.equal(r.runs.failed['E_INTERNAL'], faults.agentCrash, 'only the injected crashes failed a run');
  assert.equal(faults.workerKill, 1);
  assert.ok(r.approvals.budgetRaises >= 1, 'the tight budget paused and a raise resumed it');
  assert.ok(r.approvals.refundsApproved >= 1, 'a payments refund waited for a person');

  assert.ok(r.cost.totalMicros > 0);
  assert.ok((r.cost.perCompletedTaskMicros ?? 0) > 0);
  assert.equal(r.cost.perCompletedTaskMicros, Math.round(r.cost.totalMicros / 8));
  const layers = r.layers;
  assert.deepEqual(Object.keys(layers).sort(), [
    'compute',
    'identity',
    'memory',
    'orchestration',
    'provisioning',
    'tools',
  ]);
  for (const [name, layer] of Object.entries(layers)) assert.ok(layer.ok > 0, `layer ${name} was used`);
});
