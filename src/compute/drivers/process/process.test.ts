/**
 * The process driver refuses to exist unless insecurity is explicitly allowed, and warns loudly.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../../../kernel/logger.ts';
import { SandboxManager } from '../../sandbox/manager.ts';
import { INSECURE_WARNING, ProcessDriver } from './index.ts';

describe('process driver', () => {
  it('refuses to start without allowInsecure: true (E_INSECURE_DRIVER)', () => {
    assert.throws(() => new ProcessDriver(), { code: 'E_INSECURE_DRIVER', message: /isolates nothing/ });
    assert.throws(() => new ProcessDriver({ allowInsecure: false }), { code: 'E_INSECURE_DRIVER' });
  });

  it('warns on every sandbox it prepares', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => void lines.push(line) },
    });
    const dataDir = await mkdtemp(join(tmpdir(), 'strata-proc-'));
    const manager = await SandboxManager.open({
      dataDir,
      drivers: [new ProcessDriver({ allowInsecure: true, logger })],
    });
    try {
      const box = await manager.create({ kind: 'ephemeral' });
      assert.equal((await box.exec('echo hi')).stdout, 'hi\n');
      const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
      assert.ok(warnings.some((w) => w.level === 40 && w.msg === INSECURE_WARNING));
    } finally {
      await manager.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
