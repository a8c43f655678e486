/**
 * A kernel with the merge queue's syscalls over one store, checks in real bubblewrap sandboxes,
 * and an admin principal of a fresh tenant: what the syscall-level merge queue tests start from.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSandboxes } from '../src/compute/index.ts';
import { Kernel, type Store } from '../src/kernel/index.ts';
import {
  MergeQueues,
  mergeQueueSyscalls,
  sandboxRunner,
  type MergeQueuesOptions,
} from '../src/mergequeue/index.ts';

export interface QueueHarness {
  readonly kernel: Kernel;
  readonly queues: MergeQueues;
  readonly tenantId: string;
  /** Calls a syscall as the tenant's admin. */
  call<T>(name: string, input: unknown): Promise<T>;
  close(): Promise<void>;
}

export async function openQueueHarness(
  store: Store,
  options: Omit<MergeQueuesOptions, 'store' | 'runner'>,
): Promise<QueueHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-mq-sbx-'));
  const kernel = await Kernel.open({ store, masterKey: randomBytes(32) });
  const sandboxes = await openSandboxes({ dataDir });
  const queues = await MergeQueues.open({ ...options, store, runner: sandboxRunner(sandboxes) });
  for (const d of mergeQueueSyscalls(queues)) kernel.register(d);
  const tenantId = (await kernel.principals.createTenant('mq')).id;
  const { key } = await kernel.principals.createApiKey({
    tenantId,
    name: 'admin',
    grants: [{ syscall: '*', resource: '*' }],
  });
  const admin = await kernel.authenticate({ apiKey: key });
  return {
    kernel,
    queues,
    tenantId,
    call: (name, input) => kernel.call(name, input, { principal: admin }),
    async close() {
      await queues.close();
      await sandboxes.close();
      await kernel.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
