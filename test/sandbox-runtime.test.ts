/**
 * Sandboxes through the runtime: the `sandbox.*` syscalls (capability-checked, tenant-scoped),
 * every exec audited with its command, exit code, duration and bytes (never its output or its
 * secret env), and a persistent sandbox that survives a restart of the runtime.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { configSchema, type Principal } from '../src/kernel/index.ts';
import { openRuntime, type Runtime } from '../src/server/runtime.ts';

describe('sandbox syscalls on the runtime', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-sbx-rt-'));
  const config = configSchema.parse({ dataDir });
  let runtime: Runtime | undefined;
  after(async () => {
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const principalOf = async (rt: Runtime, tenant: string, grants = [{ syscall: '*', resource: '*' }]) => {
    const t = await rt.kernel.principals
      .getTenant(tenant)
      .catch(() => rt.kernel.principals.createTenant(tenant));
    const { key } = await rt.kernel.principals.createApiKey({
      tenantId: t.id,
      name: `k-${Date.now()}`,
      grants,
    });
    return rt.kernel.authenticate({ apiKey: key });
  };

  it('creates, execs (audited), keeps a persistent sandbox across a restart, scopes by tenant', async () => {
    runtime = await openRuntime({ config });
    let principal: Principal = await principalOf(runtime, 'acme');
    const call = <T>(name: string, input: unknown, p = principal): Promise<T> =>
      (runtime as Runtime).kernel.call<T>(name, input, { principal: p });

    const created = await call<{ id: string; kind: string; state: string }>('sandbox.create', {
      kind: 'persistent',
      name: 'work',
      runtimes: ['sh', 'python3'],
      env: { API_KEY: 'sk-sandbox-create-secret' },
    });
    assert.equal(created.kind, 'persistent');
    // The sandbox's environment is secret: its names are shown, its values never.
    const shown = JSON.stringify([
      created,
      await call('sandbox.get', { sandbox: 'work' }),
      await call('sandbox.list', {}),
    ]);
    assert.ok(!shown.includes('sk-sandbox-create-secret'), 'create, get and list never return an env value');
    assert.equal(
      (await call<{ spec: { env: Record<string, string> } }>('sandbox.get', { sandbox: 'work' })).spec.env[
        'API_KEY'
      ],
      '[REDACTED]',
    );
    const seen = await call<{ stdout: string }>('sandbox.exec', {
      sandbox: 'work',
      command: 'echo "$API_KEY"',
    });
    assert.equal(seen.stdout, 'sk-sandbox-create-secret\n', 'the code inside still gets the value');
    await call('sandbox.files.write', {
      sandbox: 'work',
      path: 'hello.txt',
      content: 'kept across restarts',
    });
    const result = await call<{ exitCode: number; stdout: string }>('sandbox.exec', {
      sandbox: 'work',
      command: 'cat hello.txt; echo "$TOKEN" | wc -c',
      env: { TOKEN: 'tok-very-secret-value' },
    });
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout, 'kept across restarts22\n');

    await runtime.kernel.audit.flush();
    const entries = await runtime.kernel.audit.list(principal.tenantId);
    const exec = entries.find(
      (e) => e.action === 'sandbox.exec' && JSON.stringify(e.detail).includes('cat hello.txt'),
    );
    assert.ok(exec, 'the exec is audited');
    assert.equal(exec.resource, 'sandbox/work');
    const detail = exec.detail as {
      input: { command: string; env: unknown };
      result: { exitCode: number; durationMs: number; stdoutBytes: number; stderrBytes: number };
    };
    assert.equal(detail.input.command, 'cat hello.txt; echo "$TOKEN" | wc -c');
    assert.equal(detail.result.exitCode, 0);
    assert.equal(detail.result.stdoutBytes, result.stdout.length);
    assert.ok(detail.result.durationMs > 0);
    const text = JSON.stringify(entries);
    assert.ok(!text.includes('tok-very-secret-value'), 'the secret env never reaches the audit log');
    assert.ok(!text.includes('sk-sandbox-create-secret'), 'nor does the create-time env');
    assert.ok(!text.includes('kept across restarts22'), 'output is not audited');

    // Another tenant sees nothing.
    const other = await principalOf(runtime, 'globex');
    await assert.rejects(call('sandbox.get', { sandbox: 'work' }, other), { code: 'E_NOT_FOUND' });
    assert.deepEqual((await call<{ sandboxes: unknown[] }>('sandbox.list', {}, other)).sandboxes, []);

    // A key granted only another sandbox is refused.
    const narrow = await principalOf(runtime, 'acme', [{ syscall: 'sandbox.*', resource: 'sandbox/other' }]);
    await assert.rejects(call('sandbox.exec', { sandbox: 'work', command: 'true' }, narrow), {
      code: 'E_CAPABILITY_DENIED',
    });

    // Bad input through the pipeline.
    await assert.rejects(call('sandbox.create', { runtimes: ['fortran'] }), { code: 'E_INVALID_INPUT' });
    await assert.rejects(call('sandbox.create', { limits: { cpuSeconds: -1 } }), { code: 'E_INVALID_INPUT' });
    await assert.rejects(call('sandbox.files.read', { sandbox: 'work', path: '../../etc/passwd' }), {
      code: 'E_INVALID_INPUT',
    });

    // Restart: the persistent sandbox is still there, paused, with its file; exec resumes it.
    await runtime.close();
    runtime = await openRuntime({ config });
    principal = await principalOf(runtime, 'acme');
    const again = await call<{ id: string; state: string }>('sandbox.get', { sandbox: 'work' });
    assert.equal(again.id, created.id);
    assert.equal(again.state, 'paused');
    const read = await call<{ content: string }>('sandbox.files.read', {
      sandbox: 'work',
      path: 'hello.txt',
    });
    assert.equal(read.content, 'kept across restarts');
    const resumed = await call<{ stdout: string }>('sandbox.exec', {
      sandbox: 'work',
      command: 'cat hello.txt',
    });
    assert.equal(resumed.stdout, 'kept across restarts');
    assert.equal((await call<{ state: string }>('sandbox.get', { sandbox: 'work' })).state, 'idle');

    // Snapshot → change → restore through syscalls.
    const snap = await call<{ id: string }>('sandbox.snapshot', { sandbox: 'work' });
    await call('sandbox.exec', { sandbox: 'work', command: 'echo changed > hello.txt' });
    await call('sandbox.restore', { sandbox: 'work', snapshot: snap.id });
    const restored = await call<{ content: string }>('sandbox.files.read', {
      sandbox: 'work',
      path: 'hello.txt',
    });
    assert.equal(restored.content, 'kept across restarts');

    await call('sandbox.destroy', { sandbox: 'work' });
    await assert.rejects(call('sandbox.get', { sandbox: 'work' }), { code: 'E_NOT_FOUND' });
  });
});
