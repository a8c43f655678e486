import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock, type Store } from '../../kernel/index.ts';
import { onEveryStore } from '../../testkit/stores.ts';
import { memoryResolver } from './auth.ts';
import { Mail } from './mail.ts';
import { rawMessage } from './testing.ts';
import { hasReplyPrefix, normalizeSubject, parseIdList } from './threading.ts';

interface Case {
  description: string;
  mailbox: string;
  messages: {
    key: string;
    minute: number;
    from: string;
    to: string[];
    cc?: string[];
    subject: string;
    messageId: string;
    inReplyTo?: string;
    references?: string[];
  }[];
  threads: string[][];
}

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/mail-threads');
const cases = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, ...(JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Case) }));

describe('subjects and id lists', () => {
  it('strips reply and forward prefixes repeatedly, in several languages', () => {
    for (const s of ['Re: RE: Fwd: AW: SV: FW: Hello  World', 'Re[2]: [list] Hello World', 'hello world']) {
      assert.equal(normalizeSubject(s), 'hello world');
    }
    assert.equal(hasReplyPrefix('[list] Re: x'), true);
    assert.equal(hasReplyPrefix('[list] x'), false);
    assert.equal(hasReplyPrefix('Regarding x'), false);
  });
  it('reads ids from folded and repeated headers, deduplicated and capped', () => {
    assert.deepEqual(parseIdList('<a@x> <b@x>\r\n <a@x>'), ['a@x', 'b@x']);
    const long = Array.from({ length: 500 }, (_, i) => `<id${i}@x>`).join(' ');
    const ids = parseIdList(long);
    assert.equal(ids.length, 100);
    assert.equal(ids.at(-1), 'id499@x');
  });
});

onEveryStore('mail threading cases (test/fixtures/mail-threads)', (db) => {
  let store: Store;
  let mail: Mail;
  const clock = new ManualClock(new Date('2026-03-01T10:00:00Z'));
  let n = 0;

  before(async () => {
    store = await db().open();
    mail = await Mail.open({
      store,
      masterKey: randomBytes(32),
      hostname: 'mx.strata.example',
      resolver: memoryResolver({}),
      clock,
    });
  });
  after(() => store.close());

  for (const c of cases) {
    it(`${c.file}: ${c.description}`, async () => {
      const tenant = `tenant${n++}`;
      const address = c.mailbox.replace('@', `+${tenant}@`);
      await mail.createMailbox({ tenant, agent: 'agent', address });
      const start = clock.now();
      const threadOf = new Map<string, string>();
      for (const m of c.messages) {
        clock.set(start + m.minute * 60_000);
        const raw = rawMessage({
          ...m,
          to: m.to.map((t) => (t === c.mailbox ? address : t)),
          date: new Date(clock.now()),
        });
        const [stored] = await mail.deliver(
          { mailFrom: m.from, recipients: [address], remoteAddress: '192.0.2.1', helo: 'client.example' },
          raw,
        );
        assert.ok(stored);
        threadOf.set(m.key, stored.id);
      }
      // Read back after everything arrived: late parents may have moved messages between threads.
      const messages = await mail.list({ tenant, mailbox: address, limit: 100 });
      const byId = new Map(messages.map((m) => [m.id, m.threadId]));
      const groups = new Map<string, string[]>();
      for (const [key, id] of threadOf) {
        const thread = byId.get(id) ?? 'missing';
        groups.set(thread, [...(groups.get(thread) ?? []), key]);
      }
      const actual = [...groups.values()].map((g) => g.sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));
      const expected = c.threads.map((g) => [...g].sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));
      assert.deepEqual(actual, expected);
      const threads = await mail.threads(tenant, address);
      assert.equal(threads.length, c.threads.length, 'merged threads are removed');
      assert.deepEqual(
        threads.map((t) => t.messageCount).sort(),
        c.threads.map((g) => g.length).sort(),
        'message counts follow merges',
      );
    });
  }
});
