/**
 * Chaos's named faults realised by the real components of a runtime (SQLite): `oom_kill` SIGKILLs
 * the real bubblewrap sandbox process and the exec reports the memory limit; `mcp_killed` kills the
 * real stdio MCP server mid-call, the supervisor restarts it and the gateway's retry succeeds on
 * the new process; `smtp_451` makes the real SMTP dialogue end in 451, the message is stored as
 * failed; `provision_failed` fails a provision after the driver made it: the resource ends
 * `failed` and no file is left. Each faulted call's audit entry marks the fault as realised. Also: the runtime refuses chaos in
 * production mode, and `chaos.status` reports what was injected.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { configSchema, isStrataError, type ChaosStatus, type Principal } from '../src/kernel/index.ts';
import { smtpSink } from '../src/identity/mail/testing.ts';
import { openRuntime, type Runtime } from '../src/server/runtime.ts';
import { withCode } from '../src/testkit/stores.ts';
import { eventually } from '../src/tools/testing.ts';

const mcpFixture = fileURLToPath(new URL('./fixtures/mcp-fixture/stdio.ts', import.meta.url));

describe('named chaos faults in the real components', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-chaos-'));
  let runtime: Runtime;
  let admin: Principal;
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  const call = <T>(name: string, input: unknown): Promise<T> =>
    runtime.kernel.call<T>(name, input, { principal: admin });
  /** Every call of `syscall` suffers `fault` from now on. */
  const always = (syscall: string, fault: string): Promise<unknown> =>
    call('chaos.set', { enabled: true, rules: [{ syscall, errorRate: 1, fault }] });
  const faultsOf = async (action: string): Promise<unknown> => {
    await runtime.kernel.audit.flush();
    const entries = await runtime.kernel.audit.list(admin.tenantId, { limit: 1000 });
    return (entries.filter((e) => e.action === action).at(-1)?.detail as { faults?: unknown }).faults;
  };

  before(async () => {
    sink = await smtpSink();
    const config = configSchema.parse({
      dataDir,
      mail: {
        hostname: 'mx.strata.test',
        domains: ['agents.test'],
        relayUrl: `smtp://127.0.0.1:${sink.port}`,
      },
      chaos: { enabled: true, seed: 1 },
    });
    runtime = await openRuntime({ config });
    const tenant = await runtime.kernel.principals.createTenant('acme');
    const { key } = await runtime.kernel.principals.createApiKey({
      tenantId: tenant.id,
      name: 'admin',
      grants: [{ syscall: '*', resource: '*' }],
    });
    admin = await runtime.kernel.authenticate({ apiKey: key });
  });
  after(async () => {
    await runtime?.close();
    await sink?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses to open in production mode with chaos on', async () => {
    const chaos = { enabled: true, rules: [{ errorRate: 0.1 }] };
    const config = configSchema.parse({ dataDir: join(dataDir, 'prod'), mode: 'production', chaos });
    await assert.rejects(openRuntime({ config }), withCode('E_CHAOS_REFUSED'));
  });

  it('oom_kill: the sandboxed process is SIGKILLed and the exec reports the memory limit', async () => {
    await call('sandbox.create', { kind: 'ephemeral', name: 'oom', runtimes: ['sh'] });
    await always('sandbox.exec', 'oom_kill');
    const killed = await call<{ exitCode: number | null; signal: string | null; exceeded: string[] }>(
      'sandbox.exec',
      { sandbox: 'oom', command: 'sleep 5; echo never' },
    );
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(killed.exitCode, null);
    assert.deepEqual(killed.exceeded, ['memory']);
    assert.deepEqual(await faultsOf('sandbox.exec'), [
      { kind: 'oom_kill', layer: 'compute', rule: 'rules[0]', attempt: 1, realised: true },
    ]);
    await call('chaos.set', { enabled: false });
    const fine = await call<{ exitCode: number; stdout: string }>('sandbox.exec', {
      sandbox: 'oom',
      command: 'echo fine',
    });
    assert.deepEqual([fine.exitCode, fine.stdout], [0, 'fine\n']);
  });

  it('mcp_killed: the stdio server dies mid-call; the gateway retries on the restarted server', async () => {
    const added = await call<{ health: string; pid?: number }>('tools.mcp.add', {
      name: 'local',
      transport: 'stdio',
      command: process.execPath,
      args: [mcpFixture],
      timeoutMs: 5_000,
      restart: { baseDelayMs: 20 },
    });
    assert.equal(added.health, 'ready');
    await always('tools.call', 'mcp_killed');
    // `add` is idempotent: the gateway retries it once the supervisor has spawned the server again.
    const out = await call<{ structuredContent?: unknown }>('tools.call', {
      tool: 'mcp.local.add',
      arguments: { a: 1, b: 2 },
    });
    assert.deepEqual(out.structuredContent, { sum: 3 });
    assert.deepEqual(await faultsOf('tools.call'), [
      { kind: 'mcp_killed', layer: 'tools', rule: 'rules[0]', attempt: 1, realised: true },
    ]);
    await call('chaos.set', { enabled: false });
    // SIGKILLed at once, but a dead child stays signalable until its parent reaps it: wait for that.
    const gone = (): boolean => {
      try {
        process.kill(added.pid ?? 0, 0);
        return false;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ESRCH';
      }
    };
    assert.ok(await eventually(() => gone() || undefined, 5_000), 'the first server process is gone');
    const restarted = await eventually(async () => {
      const { servers } = await call<{ servers: { name: string; health: string; pid?: number }[] }>(
        'tools.servers',
        {},
      );
      const local = servers.find((s) => s.name === 'local');
      return local?.health === 'ready' && local.pid !== added.pid ? local : undefined;
    }, 5_000);
    assert.ok(restarted.pid, 'the server runs again as a new process');
  });

  it('provision_failed: the resource the driver made is removed and the resource is failed', async () => {
    const tenantDir = join(dataDir, 'resources', 'sqlite', admin.tenantId);
    const files = (): string[] =>
      (existsSync(tenantDir) ? readdirSync(tenantDir) : []).filter((f) => f.endsWith('.db'));
    await call('billing.prices.set', { meter: 'sqlite.provisions', unitAmount: '0.01' });
    await call('billing.prices.set', { meter: 'sqlite.ready_seconds', unitAmount: '0' });
    await always('provision.create', 'provision_failed');
    await assert.rejects(
      call('provision.create', { kind: 'sqlite', name: 'scratch' }),
      withCode('E_UNAVAILABLE'),
    );
    // The pipeline retried the idempotent call; every attempt failed the same way.
    const marks = (await faultsOf('provision.create')) as {
      kind: string;
      attempt: number;
      realised: boolean;
    }[];
    assert.deepEqual(
      marks.map((m) => [m.kind, m.attempt, m.realised]),
      [1, 2, 3].map((attempt) => ['provision_failed', attempt, true]),
    );
    const { resources } = await call<{ resources: { name: string; state: string }[] }>('provision.list', {});
    const scratch = resources.filter((r) => r.name === 'scratch').map((r) => r.state);
    assert.ok(scratch.length >= 1 && scratch.every((state) => state === 'failed'), scratch.join());
    assert.deepEqual(files(), [], 'no database file is left behind');
    await call('chaos.set', { enabled: false });
    await call('provision.create', { kind: 'sqlite', name: 'scratch-2' });
    assert.equal(files().length, 1);
  });

  it('smtp_451: the relay dialogue ends in 451, the message is stored as failed', async () => {
    const owner = await runtime.kernel.principals.createAgent({ tenantId: admin.tenantId, name: 'scout' });
    const box = await call<{ id: string }>('mail.mailboxes.create', {
      agent: owner.name,
      address: 'scout@agents.test',
    });
    await always('mail.send', 'smtp_451');
    const send = call('mail.send', {
      mailbox: box.id,
      to: 'someone@example.test',
      subject: 'hi',
      text: 'hello',
    });
    await assert.rejects(send, (error: unknown) => {
      assert.ok(isStrataError(error));
      assert.equal(error.code, 'E_MAIL_SEND_FAILED');
      assert.match(String((error.data as { response: string }).response), /451/);
      return true;
    });
    assert.deepEqual(await faultsOf('mail.send'), [
      { kind: 'smtp_451', layer: 'identity', rule: 'rules[0]', attempt: 1, realised: true },
    ]);
    assert.equal(sink.received.length, 0, 'nothing reached the real relay');
    const { messages } = await call<{ messages: { status: string; error: string | null }[] }>('mail.list', {
      mailbox: box.id,
    });
    assert.equal(messages[0]?.status, 'failed');
    await call('chaos.set', { enabled: false });
    await call('mail.send', { mailbox: box.id, to: 'someone@example.test', subject: 'again', text: 'hello' });
    assert.equal(sink.received.length, 1);
    const status = await call<ChaosStatus>('chaos.status', {});
    const kinds = status.faults.map((f) => `${f.layer}/${f.kind}`).sort();
    assert.deepEqual(kinds, [
      'compute/oom_kill',
      'identity/smtp_451',
      'provisioning/provision_failed',
      'tools/mcp_killed',
    ]);
  });
});
