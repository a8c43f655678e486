/**
 * The escape suite: code inside a bubblewrap sandbox tries to get out, and each attempt must be
 * contained with the specific outcome asserted (the errno the kernel returned, or the limit that
 * killed it). Every attempt is counted; the last test checks the total and prints
 * "N escape attempts tried, N contained" (the figure quoted in the README).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BubblewrapDriver } from '../src/compute/drivers/bubblewrap/index.ts';
import { SandboxManager } from '../src/compute/sandbox/manager.ts';
import type { ExecResult, Sandbox } from '../src/compute/sandbox/types.ts';

const attempts: { name: string; contained: boolean }[] = [];

/** Runs an attempt and records it as contained only if every assertion in `check` holds. */
async function attempt(name: string, check: () => Promise<void>): Promise<void> {
  attempts.push({ name, contained: false });
  const entry = attempts.at(-1) as { name: string; contained: boolean };
  await check();
  entry.contained = true;
}

/** Python that performs `action` and prints OK or the errno name of the OSError it raised. */
function py(action: string): string[] {
  const code = `import errno, os, socket\ntry:\n    ${action}\n    print("OK")\nexcept OSError as e:\n    print(errno.errorcode.get(e.errno, str(e.errno)))`;
  return ['python3', '-c', code];
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

describe('escape suite (bubblewrap)', () => {
  let dataDir: string;
  let manager: SandboxManager;
  let box: Sandbox;
  let other: Sandbox;
  let otherWorkspace: string;
  let server: Server;
  let allowedPort: number;
  let deniedServer: Server;
  let deniedPort: number;

  const run = async (
    argv: string | string[],
    options: Parameters<Sandbox['exec']>[1] = {},
  ): Promise<ExecResult> => box.exec(argv, options);
  const errno = async (action: string): Promise<string> => {
    const result = await run(py(action));
    assert.equal(result.exitCode, 0, result.stderr);
    return result.stdout.trim();
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'strata-escape-'));
    await writeFile(join(dataDir, 'master.key'), 'host-secret-key\n', { mode: 0o600 });
    const listen = async (s: Server): Promise<number> => {
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      return (s.address() as AddressInfo).port;
    };
    server = createServer((_req, res) => res.end('allowed-body'));
    deniedServer = createServer((_req, res) => res.end('should-never-be-seen'));
    allowedPort = await listen(server);
    deniedPort = await listen(deniedServer);
    manager = await SandboxManager.open({
      dataDir,
      drivers: [new BubblewrapDriver({ stateDir: join(dataDir, 'compute', 'state') })],
    });
    box = await manager.create({
      kind: 'ephemeral',
      runtimes: ['sh', 'python3'],
      network: { allow: [`127.0.0.1:${allowedPort}`] },
      limits: { wallTimeMs: 20_000 },
    });
    other = await manager.create({ kind: 'persistent', name: 'victim' });
    await other.files.write('secret.txt', 'victim-secret');
    otherWorkspace = join(dataDir, 'compute', 'persistent', other.id, 'workspace');
    assert.ok(existsSync(join(otherWorkspace, 'secret.txt')));
  });

  after(async () => {
    await manager.close();
    server.close();
    deniedServer.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('cannot read /etc/shadow (ENOENT: not mounted), nor through /proc/1/root', async () => {
    await attempt('read /etc/shadow', async () => {
      assert.equal(await errno('open("/etc/shadow").read()'), 'ENOENT');
    });
    await attempt('read /proc/1/root/etc/shadow', async () => {
      assert.equal(await errno('open("/proc/1/root/etc/shadow").read()'), 'ENOENT');
    });
  });

  it('cannot read the server data directory (ENOENT)', async () => {
    await attempt('read the data directory', async () => {
      assert.equal(await errno(`os.listdir(${JSON.stringify(dataDir)})`), 'ENOENT');
      assert.equal(await errno(`open(${JSON.stringify(join(dataDir, 'master.key'))}).read()`), 'ENOENT');
    });
  });

  it('cannot read another sandbox’s workspace (ENOENT; the file API refuses the path)', async () => {
    await attempt('read another sandbox’s workspace', async () => {
      assert.equal(
        await errno(`open(${JSON.stringify(join(otherWorkspace, 'secret.txt'))}).read()`),
        'ENOENT',
      );
      const search = await run(
        'find / \\( -path /proc -o -path /sys -o -path /usr \\) -prune -o -name secret.txt -print; grep -rls victim-secret /workspace /tmp /run /etc /dev/shm; echo done',
      );
      assert.equal(
        search.stdout.trim(),
        'done',
        'no file visible in the sandbox holds the other sandbox’s secret',
      );
      await assert.rejects(box.files.read(`../../persistent/${other.id}/workspace/secret.txt`), {
        code: 'E_INVALID_INPUT',
      });
    });
  });

  it('cannot write outside its workspace (EROFS on system paths; /tmp is private)', async () => {
    await attempt('write /usr and /etc', async () => {
      assert.equal(await errno('open("/usr/bin/pwned", "w").write("x")'), 'EROFS');
      assert.equal(await errno('open("/etc/passwd", "a").write("x")'), 'EROFS');
      assert.equal(existsSync('/usr/bin/pwned'), false);
    });
    await attempt('write the host /tmp', async () => {
      const marker = `strata-escape-${process.pid}`;
      assert.equal(await errno(`open("/tmp/${marker}", "w").write("x")`), 'OK');
      assert.equal(existsSync(join('/tmp', marker)), false, 'the sandbox /tmp is a private tmpfs');
    });
    await attempt('mount a filesystem', async () => {
      const result = await run('mount -t tmpfs none /tmp 2>&1; echo "rc=$?"');
      assert.match(result.stdout, /permission denied|must be superuser|Operation not permitted/i);
      assert.match(result.stdout, /rc=(1|32)/);
    });
    await attempt('create a nested user namespace', async () => {
      const result = await run('unshare --user true 2>&1; echo "rc=$?"');
      assert.match(result.stdout, /unshare failed: (No space left on device|Operation not permitted)/);
      assert.match(result.stdout, /rc=1/);
    });
  });

  it('cannot connect to host services on 127.0.0.1 (ECONNREFUSED in its own network namespace)', async () => {
    await attempt('connect to PostgreSQL 127.0.0.1:5432', async () => {
      assert.equal(await canConnect(5432), true, 'PostgreSQL listens on the host');
      assert.equal(await errno('socket.create_connection(("127.0.0.1", 5432), timeout=3)'), 'ECONNREFUSED');
    });
    await attempt('connect to a host port that is not allowed', async () => {
      assert.equal(
        await errno(`socket.create_connection(("127.0.0.1", ${deniedPort}), timeout=3)`),
        'ECONNREFUSED',
      );
    });
  });

  it('reaches only allowed hosts, and only through the egress proxy', async () => {
    const fetchVia = (port: number): string =>
      `import urllib.request\ntry:\n    print(urllib.request.urlopen("http://127.0.0.1:${port}/", timeout=5).read().decode())\nexcept Exception as e:\n    print("ERR", getattr(e, "code", e))`;
    const allowed = await run(['python3', '-c', fetchVia(allowedPort)]);
    assert.equal(allowed.stdout.trim(), 'allowed-body', allowed.stderr);
    await attempt('reach a non-allowed host:port through the proxy', async () => {
      const denied = await run(['python3', '-c', fetchVia(deniedPort)]);
      assert.equal(denied.stdout.trim(), 'ERR 403');
      const tunnel = await run(
        `printf 'CONNECT 127.0.0.1:5432 HTTP/1.1\\r\\n\\r\\n' | socat - TCP:127.0.0.1:3128 | head -1`,
      );
      assert.match(tunnel.stdout, /^HTTP\/1.1 403 Forbidden/);
    });
    await attempt('connect to an outside address directly', async () => {
      assert.equal(await errno('socket.create_connection(("1.1.1.1", 80), timeout=3)'), 'ENETUNREACH');
    });
  });

  it('contains a fork bomb at its pids limit', async () => {
    await attempt('fork bomb', async () => {
      const bombed = await manager.create({ kind: 'ephemeral', limits: { pids: 32, wallTimeMs: 10_000 } });
      try {
        const result = await bombed.exec('bomb() { bomb | bomb & }; bomb; sleep 2; echo survived');
        assert.ok(result.exceeded.includes('pids'), `exceeded: ${result.exceeded.join(',')}`);
        assert.ok(!result.exceeded.includes('wall'));
        assert.match(result.stderr, /fork|Resource temporarily unavailable/i);
        const after = await bombed.exec('echo ok');
        assert.equal(after.stdout, 'ok\n', 'the bomb died with its exec');
      } finally {
        await bombed.destroy();
      }
    });
  });

  it('kills a process that allocates past its memory limit and names the limit', async () => {
    await attempt('allocate past the memory limit', async () => {
      const small = await manager.create({
        kind: 'ephemeral',
        runtimes: ['python3'],
        limits: { memoryBytes: 64 * 1024 * 1024 },
      });
      try {
        const result = await small.exec([
          'python3',
          '-c',
          'x = bytearray(600 * 1024 * 1024); print("allocated")',
        ]);
        assert.ok(
          result.exceeded.includes('memory'),
          `exceeded: ${result.exceeded.join(',')} ${result.stderr}`,
        );
        assert.equal(result.signal, 'SIGKILL');
        assert.equal(result.stdout, '');
      } finally {
        await small.destroy();
      }
    });
  });

  it('stops a process that spins past its CPU limit (SIGXCPU) or its wall time (SIGKILL)', async () => {
    await attempt('spin past the CPU limit', async () => {
      const cpu = await manager.create({ kind: 'ephemeral', limits: { cpuSeconds: 1, wallTimeMs: 15_000 } });
      try {
        const result = await cpu.exec('while :; do :; done');
        assert.deepEqual(result.exceeded, ['cpu']);
        assert.equal(result.signal, 'SIGXCPU');
      } finally {
        await cpu.destroy();
      }
    });
    await attempt('run past the wall time', async () => {
      const result = await run('sleep 60', { timeoutMs: 500 });
      assert.deepEqual(result.exceeded, ['wall']);
      assert.equal(result.signal, 'SIGKILL');
      assert.ok(result.durationMs < 5000);
    });
  });

  it('cannot kill its parent or any host process (ESRCH: pid namespace)', async () => {
    await attempt('kill its parent and the server', async () => {
      const result = await run(
        `kill -9 ${process.pid} 2>&1; echo "host=$?"; kill -9 $PPID; kill -9 1; kill -9 -1; echo still-here`,
      );
      assert.match(result.stdout, /kill: No such process\n+host=1\n/);
      assert.match(result.stdout, /still-here/);
      assert.equal(process.kill(process.pid, 0), true);
      assert.equal((await run('echo next')).stdout, 'next\n', 'the sandbox still works');
    });
    await attempt('see host processes', async () => {
      const result = await run('ls /proc | grep -c "^[0-9]"');
      assert.ok(Number(result.stdout.trim()) <= 6, `visible pids: ${result.stdout}`);
      assert.equal(await errno(`open("/proc/${process.pid}/environ").read()`), 'ENOENT');
    });
  });

  it('reports the count: every attempt contained', () => {
    const contained = attempts.filter((a) => a.contained).length;
    const line = `${attempts.length} escape attempts tried, ${contained} contained`;
    process.stdout.write(`# ${line}\n`);
    assert.equal(attempts.length, 18);
    assert.equal(
      contained,
      attempts.length,
      attempts
        .filter((a) => !a.contained)
        .map((a) => a.name)
        .join(', '),
    );
  });
});
