/**
 * Approval webhooks in the real runtime (openRuntime, as `strata up` runs it, SQLite): the
 * `network.allowPrivate` setting reaches the SSRF guard (off: a loopback receiver is refused with
 * E_INVALID_INPUT; on: accepted), and a registered endpoint receives the signed
 * `approval.requested` event of a run's `ctx.approve`, verifiable with its secret.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { verifyWebhook } from '../src/identity/index.ts';
import { configSchema, isStrataError } from '../src/kernel/index.ts';
import { defineWorkflow, type Approval } from '../src/orchestration/index.ts';
import { bootstrapDefaultTenant, openRuntime } from '../src/server/runtime.ts';

const release = defineWorkflow(
  { name: 'release', version: 1, input: z.object({}), output: z.object({ approved: z.boolean() }) },
  async (ctx) => ({ approved: (await ctx.approve({ question: 'Ship it?' })).approved }),
);

test('the runtime delivers signed approval events; network.allowPrivate gates loopback URLs', async (t) => {
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/approvals`;

  for (const allowPrivate of [false, true]) {
    const dataDir = mkdtempSync(join(tmpdir(), 'strata-approval-hooks-'));
    const runtime = await openRuntime({
      config: configSchema.parse({ dataDir, network: { allowPrivate } }),
      worker: true,
    });
    try {
      runtime.engine.register(release);
      const boot = await bootstrapDefaultTenant(runtime);
      const principal = await runtime.kernel.authenticate({ apiKey: boot.adminKey ?? '' });
      const create = runtime.kernel.call<{ id: string; secret: string }>(
        'approvals.webhooks.create',
        { url, events: ['approval.requested'] },
        { principal },
      );
      if (!allowPrivate) {
        await assert.rejects(create, (e: unknown) => isStrataError(e) && e.code === 'E_INVALID_INPUT');
        continue;
      }
      const { secret } = await create;
      const run = await runtime.engine.start('release', {}, { principal });
      for (let i = 0; i < 600 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(received.length, 1);
      const event = verifyWebhook(secret, received[0]?.headers ?? {}, received[0]?.body ?? '') as {
        type: string;
        data: { approval: Approval; decide: { path: string } };
      };
      assert.equal(event.type, 'approval.requested');
      assert.equal(event.data.approval.runId, run.id);
      assert.equal(event.data.decide.path, '/v1/syscalls/approvals.decide');
    } finally {
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
});
