/**
 * `GET /v1/mail/events` through a running server on both engines: a client reads part of the stream,
 * disconnects, more mail arrives (some of it while it reconnects), and the client resuming with
 * `Last-Event-ID` gets exactly the events after the last one it saw — none lost, none doubled;
 * `?mailbox=` narrows the stream; no credentials is a 401 and a malformed cursor a 400.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configSchema } from '../src/kernel/index.ts';
import { rawMessage } from '../src/identity/index.ts';
import { openRuntime, type Runtime } from '../src/server/runtime.ts';
import { startServer, type ServerHandle } from '../src/server/server.ts';
import { createTestDatabase } from '../src/testkit/pg.ts';

interface Frame {
  readonly id: string;
  readonly event: string;
  readonly data: { seq: number; messageId: string; mailboxId: string };
}

/**
 * Opens the stream and yields its frames until aborted. `opened` is called once the response headers
 * are in: the server fixed its cursor before sending them, so every event appended after is streamed.
 */
async function* frames(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  opened?: () => void,
): AsyncGenerator<Frame> {
  const res = await fetch(url, { headers, signal });
  assert.equal(res.status, 200, await (res.status === 200 ? Promise.resolve('') : res.text()));
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  opened?.();
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((l) => l && !l.startsWith(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]),
      ) as Record<string, string>;
      if (fields['data']) {
        yield {
          id: fields['id'] ?? '',
          event: fields['event'] ?? '',
          data: JSON.parse(fields['data']) as Frame['data'],
        };
      }
    }
  }
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  void describe(`GET /v1/mail/events on ${dialect}`, () => {
    let runtime: Runtime;
    let server: ServerHandle;
    let auth: Record<string, string>;
    let dataDir: string;
    let dropDb: (() => Promise<void>) | undefined;
    let inbox = '';
    const deliver = async (to: string, subject: string): Promise<string> => {
      const [message] = await runtime.identity.mail.deliver(
        { mailFrom: 'a@remote.test', recipients: [to], remoteAddress: '127.0.0.1', helo: 'remote.test' },
        rawMessage({ from: 'a@remote.test', to: [to], subject }),
      );
      return message?.id ?? '';
    };

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'strata-sse-'));
      const db = dialect === 'postgres' ? await createTestDatabase() : undefined;
      dropDb = db?.drop;
      runtime = await openRuntime({
        config: configSchema.parse({
          dataDir,
          databaseUrl: db?.url,
          mail: { hostname: 'mx.strata.test', domains: ['agents.test'] },
        }),
      });
      const tenant = await runtime.kernel.principals.createTenant('acme');
      const { key } = await runtime.kernel.principals.createApiKey({
        tenantId: tenant.id,
        name: 'k',
        grants: [{ syscall: 'mail.*', resource: '*' }],
      });
      auth = { authorization: `Bearer ${key}` };
      const mail = runtime.identity.mail;
      inbox = (await mail.createMailbox({ tenant: tenant.id, agent: 'a', address: 'inbox@agents.test' })).id;
      await mail.createMailbox({ tenant: tenant.id, agent: 'b', address: 'other@agents.test' });
      server = await startServer({ runtime, port: 0, host: '127.0.0.1' });
    });
    after(async () => {
      await server.close();
      await dropDb?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('resumes with Last-Event-ID: exactly the events after the last one seen', async () => {
      const first = new AbortController();
      let opened: () => void = () => undefined;
      const open = new Promise<void>((resolve) => (opened = resolve));
      const stream = frames(`${server.url}/v1/mail/events`, auth, first.signal, opened);
      const next = stream.next(); // connects; events from now on
      await open; // not a fixed sleep: under load the connection can take longer than any guess
      const sent = [await deliver('inbox@agents.test', 'm1'), await deliver('inbox@agents.test', 'm2')];
      sent.push(await deliver('inbox@agents.test', 'm3'));
      const seen: Frame[] = [(await next).value as Frame];
      seen.push((await stream.next()).value as Frame);
      first.abort(); // disconnect mid-stream, after 2 of 3
      await stream.return(undefined).catch(() => undefined);
      sent.push(await deliver('inbox@agents.test', 'm4'));
      const last = seen.at(-1)?.id ?? '';
      const second = new AbortController();
      const resumed = frames(
        `${server.url}/v1/mail/events`,
        { ...auth, 'last-event-id': last },
        second.signal,
      );
      const racing = Promise.all([deliver('inbox@agents.test', 'm5'), deliver('other@agents.test', 'o1')]);
      const [m5] = await racing;
      sent.push(m5);
      for (;;) {
        const value = (await resumed.next()).value as Frame;
        seen.push(value);
        if (value.data.messageId === m5) break;
      }
      second.abort();
      const inboxSeen = seen.filter((f) => f.data.mailboxId === inbox);
      assert.deepEqual(
        inboxSeen.map((f) => f.data.messageId),
        sent,
        'every message once, in order',
      );
      assert.ok(seen.every((f) => f.event === 'message.received'));
      const seqs = seen.map((f) => Number(f.id));
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
      );
      assert.equal(new Set(seqs).size, seqs.length, 'no event twice');
    });

    it('narrows to one mailbox with ?mailbox= and resumes from ?after=', async () => {
      const controller = new AbortController();
      const url = `${server.url}/v1/mail/events?mailbox=other@agents.test&after=0`;
      const stream = frames(url, auth, controller.signal);
      const value = (await stream.next()).value as Frame;
      controller.abort();
      assert.equal(value.data.mailboxId !== inbox, true);
    });

    it('refuses a caller without credentials and a malformed cursor', async () => {
      assert.equal((await fetch(`${server.url}/v1/mail/events`)).status, 401);
      const bad = await fetch(`${server.url}/v1/mail/events`, {
        headers: { ...auth, 'last-event-id': 'x1' },
      });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'E_INVALID_INPUT');
    });
  });
}
