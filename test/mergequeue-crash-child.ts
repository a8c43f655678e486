/**
 * A merge queue worker process for the crash test: opens the SQLite store, optionally configures
 * the queue and submits branches (MQ_SUBMIT=b1,b2), and runs the queue until it is idle. With
 * MQ_CRASH_PUSH=1 it kills itself with SIGKILL at its first push, after the store recorded the move
 * and before git's ref moved: the worst moment for a crash.
 */
import { createSqliteStore } from '../src/kernel/store/drivers/sqlite/index.ts';
import { openSandboxes } from '../src/compute/index.ts';
import { GitRepository, MergeQueues, sandboxRunner } from '../src/mergequeue/index.ts';

const [dbPath, dataDir, allowedRoot, bare] = process.argv.slice(2) as [string, string, string, string];
if (process.env['MQ_CRASH_PUSH'] === '1') {
  GitRepository.prototype.compareAndSwap = () => {
    process.kill(process.pid, 'SIGKILL');
    return new Promise(() => undefined);
  };
}
const store = await createSqliteStore({ path: dbPath });
const sandboxes = await openSandboxes({ dataDir });
const queues = await MergeQueues.open({
  store,
  runner: sandboxRunner(sandboxes),
  allowedRoots: [allowedRoot],
});
const submit = process.env['MQ_SUBMIT'];
if (submit) {
  await queues.configure('t1', {
    queue: 'app',
    repository: bare,
    target: 'main',
    check: { command: 'sh check.sh', timeoutMs: 30_000, runtimes: ['sh'] },
    batch: { min: 1, max: 2 },
  });
  for (const branch of submit.split(',')) await queues.submit('t1', { queue: 'app', branch, author: branch });
}
await queues.idle('t1', 'app');
await queues.close();
await sandboxes.close();
await store.close();
