// `strata audit list` against a real server (SQLite runtime with a worker): `--run` prints the
// run's entries (its own syscall and the start that named it) in chain order, as a table or as the
// kernel.audit.list page with --json; `--root` the tree's; a malformed run id exits 2 with
// E_INVALID_INPUT naming the field, as the HTTP API answers it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { configSchema, createLogger, type AuditEntry } from '../kernel/index.ts';
import { defineWorkflow, type WorkflowDefinition } from '../orchestration/index.ts';
import { openRuntime, type Runtime } from '../server/runtime.ts';
import { startServer, type ServerHandle } from '../server/server.ts';
import { jsonOf, runCli } from './testing.ts';

const echoOnce = defineWorkflow(
  { name: 'cli.echo_once', version: 1, input: z.object({ message: z.string() }), output: z.unknown() },
  (ctx, input) => ctx.syscall('kernel.echo', input),
);

const dataDir = mkdtempSync(join(tmpdir(), 'strata-audit-list-'));
let runtime: Runtime;
let server: ServerHandle;
let key = '';
const runs: string[] = [];

before(async () => {
  runtime = await openRuntime({
    config: configSchema.parse({ dataDir }),
    logger: createLogger({ level: 'silent' }),
    worker: true,
    workflows: [echoOnce as unknown as WorkflowDefinition],
  });
  const tenantId = (await runtime.kernel.principals.createTenant('acme')).id;
  key = (
    await runtime.kernel.principals.createApiKey({
      tenantId,
      name: 'ops',
      grants: [{ syscall: '*', resource: '*' }],
    })
  ).key;
  const principal = await runtime.kernel.authenticate({ apiKey: key });
  for (const message of ['first', 'second']) {
    const run = await runtime.kernel.call<{ id: string }>(
      'runs.start',
      { workflow: 'cli.echo_once', input: { message } },
      { principal },
    );
    runs.push(run.id);
  }
  for (const runId of runs) {
    for (let i = 0; ; i++) {
      const run = await runtime.kernel.call<{ status: string }>('runs.get', { runId }, { principal });
      if (run.status === 'completed') break;
      if (i > 400) throw new Error(`run ${runId} is ${run.status}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  server = await startServer({ runtime, port: 0, host: '127.0.0.1' });
});
after(async () => {
  await server.close();
  await runtime.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(['audit', 'ls', '--url', server.url, '--key', key, ...args]);

test('strata audit ls --run lists the run’s entries, as a table and as JSON; --root its tree', async () => {
  const [runId, otherId] = runs as [string, string];
  const [text, json, tree] = await Promise.all([
    cli('--run', runId),
    cli('--run', runId, '--json'),
    cli('--root', otherId, '--json'),
  ]);
  assert.equal(json.code, 0, json.stderr);
  const page = jsonOf<{ entries: AuditEntry[]; head: { seq: number } }>(json);
  assert.deepEqual(
    page.entries.map((e) => [e.action, e.outcome, e.runId, e.rootRunId]),
    [
      ['runs.start', 'ok', runId, runId],
      ['kernel.echo', 'ok', runId, runId],
    ],
  );
  assert.deepEqual((page.entries[1]?.detail as { input: unknown }).input, { message: 'first' });
  assert.ok(page.head.seq >= (page.entries.at(-1)?.seq ?? Infinity), 'the head covers the entries listed');
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^SEQ +TIME +SYSCALL +OUTCOME +PRINCIPAL +RUN$/);
  assert.deepEqual(
    lines.slice(1).map((l) =>
      l
        .split(/ +/)
        .slice(2, 4)
        .concat(l.split(/ +/).at(-1) ?? ''),
    ),
    [
      ['runs.start', 'ok', runId],
      ['kernel.echo', 'ok', runId],
    ],
  );
  assert.equal(tree.code, 0, tree.stderr);
  assert.deepEqual(
    jsonOf<{ entries: AuditEntry[] }>(tree).entries.map((e) => [e.action, e.runId]),
    [
      ['runs.start', otherId],
      ['kernel.echo', otherId],
    ],
  );
});

test('strata audit ls refuses a malformed run id with exit 2 and E_INVALID_INPUT naming the field', async () => {
  const [json, text] = await Promise.all([cli('--run', 'run_nope', '--json'), cli('--root', 'x;DROP TABLE')]);
  assert.equal(json.code, 2, json.stdout + json.stderr);
  const { error } = jsonOf<{
    error: { code: string; data: { issues: { path: string; message: string }[] } };
  }>(json);
  assert.equal(error.code, 'E_INVALID_INPUT');
  assert.equal(error.data.issues[0]?.path, 'runId');
  assert.equal(text.code, 2);
  assert.match(text.stderr, /E_INVALID_INPUT[\s\S]*rootRunId: must be a run id/);
});
