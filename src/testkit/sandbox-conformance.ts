/**
 * @module testkit/sandbox-conformance
 * The contract every sandbox driver meets, as one node:test suite: exec (output, streaming, stdin,
 * env, cwd, exit codes and signals, wall time, output cap), files (read, write, list, remove, tar
 * upload/download, confinement to the workspace), snapshots, pause/resume, persistence across a
 * manager restart, destroy, owner scoping and bad input. Both built-in drivers run it; a third-party
 * driver runs it the same way.
 *
 * @example
 * describeSandboxConformance('mydriver', ({ dataDir }) =>
 *   SandboxManager.open({ dataDir, drivers: [new MyDriver()] }));
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import type { SandboxManager } from '../compute/sandbox/manager.ts';
import type { Sandbox } from '../compute/sandbox/types.ts';
import { isStrataError } from '../kernel/errors.ts';

export type SandboxManagerFactory = (options: { dataDir: string }) => Promise<SandboxManager>;

async function rejectsWith(
  promise: Promise<unknown> | (() => Promise<unknown>),
  code: string,
): Promise<void> {
  await assert.rejects(typeof promise === 'function' ? promise() : promise, (error: unknown) => {
    assert.ok(isStrataError(error), `expected a StrataError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function describeSandboxConformance(name: string, factory: SandboxManagerFactory): void {
  void describe(`sandbox conformance: ${name}`, () => {
    let dataDir: string;
    let manager: SandboxManager;
    let box: Sandbox;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'strata-sbx-conf-'));
      manager = await factory({ dataDir });
      box = await manager.create({ kind: 'ephemeral', runtimes: ['sh', 'python3'] });
    });
    after(async () => {
      await manager.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    void describe('exec', () => {
      it('returns stdout, stderr and the exit code', async () => {
        const result = await box.exec('echo out; echo err >&2; exit 3');
        assert.equal(result.stdout, 'out\n');
        assert.equal(result.stderr, 'err\n');
        assert.equal(result.exitCode, 3);
        assert.equal(result.signal, null);
        assert.deepEqual(result.exceeded, []);
        assert.equal(result.stdoutBytes, 4);
      });

      it('runs an argv without a shell, with stdin, env and cwd', async () => {
        await box.files.write('sub/dir/keep', '');
        const result = await box.exec(
          [
            'python3',
            '-c',
            'import os,sys; print(sys.stdin.read().upper(), os.environ["GREETING"], os.getcwd().split("/")[-1])',
          ],
          {
            stdin: 'piped',
            env: { GREETING: 'hello' },
            cwd: 'sub/dir',
          },
        );
        assert.equal(result.exitCode, 0, result.stderr);
        assert.equal(result.stdout, 'PIPED hello dir\n');
      });

      it('streams output while the command runs', async () => {
        const chunks: string[] = [];
        let firstAt = 0;
        const started = Date.now();
        const result = await box.exec('echo one; sleep 0.4; echo two', {
          onStdout: (chunk) => {
            if (chunks.length === 0) firstAt = Date.now() - started;
            chunks.push(chunk.toString());
          },
        });
        assert.equal(chunks.join(''), 'one\ntwo\n');
        assert.ok(firstAt < result.durationMs - 200, `first chunk at ${firstAt} ms of ${result.durationMs}`);
      });

      it('reports a signal that ended the command', async () => {
        const result = await box.exec('kill -TERM $$');
        assert.equal(result.exitCode, null);
        assert.equal(result.signal, 'SIGTERM');
      });

      it('kills a command past its wall time and names the limit', async () => {
        const started = Date.now();
        const result = await box.exec('sleep 30', { timeoutMs: 300 });
        assert.ok(Date.now() - started < 5000);
        assert.deepEqual(result.exceeded, ['wall']);
        assert.equal(result.signal, 'SIGKILL');
      });

      it('caps huge output with a marker without wedging the command', async () => {
        const capped = await manager.create({ kind: 'ephemeral', limits: { outputBytes: 65_536 } });
        try {
          const result = await capped.exec('head -c 5000000 /dev/zero | tr "\\0" a; echo done >&2');
          assert.equal(result.exitCode, 0);
          assert.equal(result.stdoutBytes, 5_000_000);
          assert.ok(result.truncated);
          assert.deepEqual(result.exceeded, ['output']);
          assert.match(result.stdout, /\[strata: stdout truncated: kept 65536 of 5000000 bytes\]\n$/);
          assert.ok(result.stdout.length < 66_000);
          assert.equal(result.stderr, 'done\n');
        } finally {
          await capped.destroy();
        }
      });

      it('refuses bad input with stable codes', async () => {
        await rejectsWith(box.exec([]), 'E_INVALID_INPUT');
        await rejectsWith(box.exec('true', { timeoutMs: -5 }), 'E_INVALID_INPUT');
        await rejectsWith(box.exec('true', { cwd: '../..' }), 'E_INVALID_INPUT');
        await rejectsWith(box.exec('true', { cwd: 'no/such/dir' }), 'E_NOT_FOUND');
        await rejectsWith(box.exec('true', { env: { 'BAD-NAME': 'x' } }), 'E_INVALID_INPUT');
      });

      it('runs sandboxes side by side', async () => {
        const boxes = await Promise.all(
          Array.from({ length: 6 }, () => manager.create({ kind: 'ephemeral' })),
        );
        try {
          const results = await Promise.all(boxes.map((b, i) => b.exec(`echo ${i}`)));
          assert.deepEqual(
            results.map((r) => r.stdout),
            boxes.map((_b, i) => `${i}\n`),
          );
        } finally {
          await Promise.all(boxes.map((b) => b.destroy()));
        }
      });
    });

    void describe('files', () => {
      it('writes, reads, lists and removes; the command sees the same files', async () => {
        await box.files.write('notes/a.txt', 'alpha');
        await box.files.write('notes/b.bin', new Uint8Array([0, 1, 2]));
        assert.equal((await box.files.read('notes/a.txt')).toString(), 'alpha');
        assert.deepEqual([...(await box.files.read('/workspace/notes/b.bin'))], [0, 1, 2]);
        const listed = await box.files.list('notes');
        assert.deepEqual(
          listed.map((e) => [e.path, e.type, e.size]),
          [
            ['notes/a.txt', 'file', 5],
            ['notes/b.bin', 'file', 3],
          ],
        );
        const seen = await box.exec('cat notes/a.txt; echo made > notes/c.txt');
        assert.equal(seen.stdout, 'alpha');
        assert.equal((await box.files.read('notes/c.txt')).toString(), 'made\n');
        await box.files.remove('notes/a.txt');
        await rejectsWith(box.files.read('notes/a.txt'), 'E_NOT_FOUND');
        await rejectsWith(box.files.remove('notes'), 'E_CONFLICT');
        await box.files.remove('notes', { recursive: true });
        assert.deepEqual(
          (await box.files.list('')).map((e) => e.path).filter((p) => p === 'notes'),
          [],
        );
      });

      it('refuses paths outside the workspace, including through planted symlinks', async () => {
        await rejectsWith(box.files.read('../../etc/passwd'), 'E_INVALID_INPUT');
        await rejectsWith(box.files.read('/etc/passwd'), 'E_INVALID_INPUT');
        await rejectsWith(box.files.write('a/../../../tmp/x', 'x'), 'E_INVALID_INPUT');
        await rejectsWith(box.files.remove(''), 'E_INVALID_INPUT');
        await box.exec('ln -s /etc/passwd leak; ln -s / rootlink');
        await rejectsWith(box.files.read('leak'), 'E_CAPABILITY_DENIED');
        await rejectsWith(box.files.write('leak', 'pwned'), 'E_CAPABILITY_DENIED');
        await rejectsWith(box.files.read('rootlink/etc/passwd'), 'E_CAPABILITY_DENIED');
        await rejectsWith(box.files.list('rootlink'), 'E_CAPABILITY_DENIED');
        await box.files.remove('leak');
        await box.files.remove('rootlink');
      });

      it('uploads and downloads tar archives', async () => {
        await box.files.write('tree/x/one.txt', '1');
        await box.files.write('tree/two.txt', '22');
        const archive = await box.files.download('tree');
        const other = await manager.create({ kind: 'ephemeral' });
        try {
          await other.files.upload(archive, 'imported');
          assert.equal((await other.files.read('imported/tree/x/one.txt')).toString(), '1');
          assert.equal((await other.files.read('imported/tree/two.txt')).toString(), '22');
          await rejectsWith(
            other.files.upload(Buffer.from('not a tar at all, clearly'.repeat(40))),
            'E_INVALID_INPUT',
          );
        } finally {
          await other.destroy();
        }
      });

      it('extracts no entry outside the workspace from a hostile archive', async () => {
        const header = new tar.Header({
          path: '../../../../tmp/strata-evil.txt',
          mode: 0o644,
          size: 4,
          type: 'File',
          mtime: new Date(),
        });
        header.encode();
        const body = Buffer.alloc(512);
        body.write('evil');
        const archive = Buffer.concat([header.block ?? Buffer.alloc(0), body, Buffer.alloc(1024)]);
        await rejectsWith(box.files.upload(archive, 'in'), 'E_INVALID_INPUT');
        assert.equal(existsSync('/tmp/strata-evil.txt'), false);
      });
    });

    void describe('snapshots', () => {
      it('snapshot → change → restore returns the old state; ids are content hashes', async () => {
        const snap = await manager.create({ kind: 'ephemeral' });
        try {
          await snap.files.write('state.txt', 'v1');
          await snap.exec('mkdir -p d && echo keep > d/k');
          const first = await snap.snapshot();
          assert.match(first.id, /^[0-9a-f]{64}$/);
          await snap.files.write('state.txt', 'v2');
          await snap.exec('rm -r d; echo extra > extra.txt');
          await snap.restore(first);
          assert.equal((await snap.files.read('state.txt')).toString(), 'v1');
          assert.equal((await snap.files.read('d/k')).toString(), 'keep\n');
          await rejectsWith(snap.files.read('extra.txt'), 'E_NOT_FOUND');
          assert.equal((await snap.exec('cat state.txt')).stdout, 'v1');
          await rejectsWith(snap.restore('0'.repeat(64)), 'E_NOT_FOUND');
          await rejectsWith(snap.restore('../../etc'), 'E_INVALID_INPUT');
          const other = await manager.create({ kind: 'ephemeral' }, 'another-owner');
          try {
            await rejectsWith(other.restore(first.id), 'E_NOT_FOUND');
          } finally {
            await other.destroy();
          }
        } finally {
          await snap.destroy();
        }
      });
    });

    void describe('lifecycle', () => {
      it('pause freezes running processes; resume thaws them', async () => {
        const paused = await manager.create({ kind: 'ephemeral' });
        try {
          const running = paused.exec(
            'for i in $(seq 1 20); do echo $i >> ticks; sleep 0.05; done; echo finished',
          );
          const count = async (): Promise<number> =>
            (await paused.files.read('ticks')).toString().trim().split('\n').length;
          // Until the loop has ticked (a sandbox's start can take longer than a fixed sleep on a
          // loaded machine: CI once paused it before the first tick).
          for (let waited = 0; waited < 10_000; waited += 50) {
            if ((await count().catch(() => 0)) >= 2) break;
            await sleep(50);
          }
          await paused.pause();
          assert.equal(paused.state(), 'paused');
          const atPause = await count();
          await sleep(500);
          assert.equal(await count(), atPause, 'no progress while paused');
          await paused.resume();
          const result = await running;
          assert.equal(result.stdout, 'finished\n');
          assert.equal(await count(), 20);
          assert.equal(paused.state(), 'idle');
        } finally {
          await paused.destroy();
        }
      });

      it('destroy removes an ephemeral workspace; the sandbox is gone', async () => {
        const gone = await manager.create({ kind: 'ephemeral' });
        const marker = `gone-${process.pid}-${Date.now()}`;
        await gone.files.write(marker, 'x');
        const { id } = gone;
        await gone.destroy();
        assert.equal(gone.state(), 'destroyed');
        await rejectsWith(gone.exec('true'), 'E_NOT_FOUND');
        assert.throws(
          () => manager.get(id),
          (e: unknown) => isStrataError(e) && e.code === 'E_NOT_FOUND',
        );
        const found: string[] = [];
        const walk = async (dir: string): Promise<void> => {
          for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
            if (entry.name === marker) found.push(join(dir, entry.name));
            if (entry.isDirectory()) await walk(join(dir, entry.name));
          }
        };
        await walk(manager.runDir);
        await walk(dataDir);
        assert.deepEqual(found, [], 'no trace of the workspace is left');
      });

      it('a persistent sandbox keeps its files across a manager restart and resumes on exec', async () => {
        const name = `keep-${Date.now()}`;
        const kept = await manager.create({ kind: 'persistent', name });
        await kept.files.write('data.txt', 'survives');
        await kept.exec('echo from-exec > exec.txt');
        await manager.close();
        manager = await factory({ dataDir });
        const again = manager.get(name);
        assert.equal(again.id, kept.id);
        assert.equal(again.state(), 'paused');
        assert.equal((await again.files.read('data.txt')).toString(), 'survives');
        const result = await again.exec('cat data.txt exec.txt');
        assert.equal(result.stdout, 'survivesfrom-exec\n');
        assert.equal(again.state(), 'idle');
        await again.destroy();
        box = await manager.create({ kind: 'ephemeral', runtimes: ['sh', 'python3'] });
      });

      it('pauses an idle persistent sandbox and resumes it on the next exec', async () => {
        const idle = await manager.create({
          kind: 'persistent',
          name: `idle-${Date.now()}`,
          idleTimeoutMs: 150,
        });
        try {
          await idle.exec('echo 1 > n');
          assert.equal(idle.state(), 'idle');
          await sleep(400);
          assert.equal(idle.state(), 'paused');
          assert.equal((await idle.exec('cat n')).stdout, '1\n');
          assert.equal(idle.state(), 'idle');
        } finally {
          await idle.destroy();
        }
      });

      it('enforces the workspace size limit for both kinds', async () => {
        for (const kind of ['ephemeral', 'persistent'] as const) {
          const small = await manager.create({
            kind,
            name: `small-${kind}-${Date.now()}`,
            limits: { workspaceBytes: 1024 * 1024 },
          });
          try {
            await rejectsWith(small.files.write('big', Buffer.alloc(2 * 1024 * 1024)), 'E_QUOTA_EXCEEDED');
            const result = await small.exec('head -c 3000000 /dev/zero > big; echo "rc=$?"');
            const capped =
              result.exceeded.includes('workspace') || /No space left|File too large/.test(result.stderr);
            assert.ok(capped, `${kind}: ${JSON.stringify(result)}`);
          } finally {
            await small.destroy();
          }
        }
      });

      it('scopes sandboxes to their owner', async () => {
        const mine = await manager.create({ kind: 'ephemeral', name: 'scoped' }, 'owner-a');
        try {
          assert.equal(manager.get('scoped', 'owner-a').id, mine.id);
          assert.throws(
            () => manager.get('scoped', 'owner-b'),
            (e: unknown) => isStrataError(e) && e.code === 'E_NOT_FOUND',
          );
          assert.throws(
            () => manager.get(mine.id, 'owner-b'),
            (e: unknown) => isStrataError(e) && e.code === 'E_NOT_FOUND',
          );
          assert.deepEqual(
            manager.list('owner-a').map((i) => i.id),
            [mine.id],
          );
          await rejectsWith(manager.create({ kind: 'ephemeral', name: 'scoped' }, 'owner-a'), 'E_CONFLICT');
          const raced = await Promise.allSettled([
            manager.create({ kind: 'ephemeral', name: 'raced' }, 'owner-a'),
            manager.create({ kind: 'ephemeral', name: 'raced' }, 'owner-a'),
          ]);
          const won = raced.filter((r) => r.status === 'fulfilled');
          assert.equal(won.length, 1, 'one of two concurrent creates with one name wins');
          await (won[0] as PromiseFulfilledResult<Sandbox>).value.destroy();
        } finally {
          await mine.destroy();
        }
      });

      it('refuses bad specs with E_INVALID_INPUT naming the field', async () => {
        const bad = async (spec: unknown, path: string): Promise<void> => {
          await assert.rejects(manager.create(spec), (error: unknown) => {
            assert.ok(isStrataError(error));
            assert.equal(error.code, 'E_INVALID_INPUT');
            const issues = (error.data as { issues: { path: string }[] }).issues;
            assert.ok(
              issues.some((i) => i.path.startsWith(path)),
              `expected an issue at ${path}: ${JSON.stringify(issues)}`,
            );
            return true;
          });
        };
        await bad({ runtimes: ['cobol'] }, 'runtimes');
        await bad({ limits: { memoryBytes: -1 } }, 'limits.memoryBytes');
        await bad({ limits: { pids: 0 } }, 'limits.pids');
        await bad({ limits: { wallTimeMs: -10 } }, 'limits.wallTimeMs');
        await bad({ kind: 'persistent' }, 'name');
        await bad({ kind: 'forever' }, 'kind');
        await bad({ name: '../escape' }, 'name');
        await bad({ network: { allow: ['not a host'] } }, 'network');
        await bad({ driver: 'nope' }, 'driver');
      });
    });
  });
}
