/**
 * A queue's check network (issue 13), with real git, checks in bubblewrap sandboxes and a real
 * HTTP server on the host's loopback, on SQLite and PostgreSQL: by default a check reaches
 * nothing; with an allow-list it reaches only the listed `host:port` through the compute layer's
 * egress proxy (another port of the same host is refused); bad policies are refused with
 * E_INVALID_INPUT and change nothing; the policy is stored and shown with the queue.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import type { MergeQueues } from '../src/mergequeue/index.ts';
import { onEveryStore, withCode } from '../src/testkit/stores.ts';
import { createFixture, type Fixture } from './mergequeue-fixture.ts';
import { openQueueHarness, type QueueHarness } from './mergequeue-harness.ts';

// The check fetches the URL the change names; it fails when the fetch does.
const CHECK = `import sys, urllib.request
url = open("url.txt").read().strip()
try:
    print(urllib.request.urlopen(url, timeout=5).read().decode())
except Exception as e:
    print("unreachable:", getattr(e, "code", e))
    sys.exit(1)
`;

type Queue = { network: unknown; stopped: unknown };
type Entry = { id: string; state: string };

onEveryStore('merge queue check network', (db) => {
  let fx: Fixture;
  let h: QueueHarness;
  let queues: MergeQueues;
  let server: Server;
  let denied: Server;
  const hits: string[] = [];
  const listen = async (s: Server): Promise<number> => {
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return (s.address() as AddressInfo).port;
  };
  let port: number;
  let deniedPort: number;
  let tenantId: string;

  before(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('reached');
    });
    denied = createServer((_req, res) => res.end('must never be reached'));
    port = await listen(server);
    deniedPort = await listen(denied);
    fx = createFixture({ 'check.py': CHECK, 'url.txt': `http://127.0.0.1:${deniedPort}/` });
    h = await openQueueHarness(await db().open(), { allowedRoots: [fx.allowedRoot] });
    ({ queues, tenantId } = h);
  });
  after(async () => {
    await h.close();
    server.close();
    denied.close();
    fx.cleanup();
  });
  const call = <T>(name: string, input: unknown): Promise<T> => h.call<T>(name, input);
  const configure = (network?: unknown) =>
    call<Queue>('mq.configure', {
      queue: 'app',
      repository: fx.bare,
      target: 'main',
      check: { command: 'python3 check.py', timeoutMs: 30_000, runtimes: ['python3'], network },
    });
  /** Submits a change that makes the check fetch `url`; returns the entry once the queue is idle. */
  const tryFetch = async (branch: string, url: string): Promise<Entry> => {
    fx.branch(branch, { 'url.txt': `${url}\n` });
    const entry = await call<Entry>('mq.submit', { queue: 'app', branch });
    await queues.idle(tenantId, 'app');
    return (await call<{ entry: Entry }>('mq.show', { queue: 'app', id: entry.id })).entry;
  };

  it('refuses bad policies with E_INVALID_INPUT; the default is none', async () => {
    assert.equal((await configure()).network, 'none');
    for (const bad of [
      'any',
      { allow: ['example.com'] },
      { allow: ['http://x:80'] },
      { allow: ['a:99999'] },
    ]) {
      await assert.rejects(configure(bad), withCode('E_INVALID_INPUT'), JSON.stringify(bad));
      await assert.rejects(
        queues.configure('t-direct', {
          queue: 'app',
          repository: fx.bare,
          target: 'main',
          check: { command: 'true', network: bad as never },
        }),
        withCode('E_INVALID_INPUT'),
      );
    }
    const listed = await call<{ stopped: unknown }>('mq.list', { queue: 'app' });
    assert.equal(listed.stopped, null);
  });

  it('a check reaches nothing by default, only allowed host:port entries when allowed', async () => {
    const url = `http://127.0.0.1:${port}/hello`;
    assert.equal((await tryFetch('no-network', url)).state, 'rejected');
    assert.equal(hits.length, 0, 'a check without network reached the host');

    const other = await configure({ allow: [`127.0.0.1:${deniedPort}`] });
    assert.deepEqual(other.network, { allow: [`127.0.0.1:${deniedPort}`] });
    const otherPort = await tryFetch('other-port', url);
    assert.equal(otherPort.state, 'rejected');
    assert.equal(hits.length, 0, 'a host:port not on the list was reached');
    const refused = await call<{ failingLog: string }>('mq.show', { queue: 'app', id: otherPort.id });
    assert.match(refused.failingLog, /unreachable: 403/, 'the egress proxy refused it');

    await configure({ allow: [`127.0.0.1:${port}`] });
    assert.equal((await tryFetch('allowed', url)).state, 'merged');
    assert.ok(hits.includes('/hello'), 'the allowed server was reached');
  });
});
