// kernel.audit.list's filters on both engines, through the syscall: by syscall name prefix, outcome,
// principal and time window, keyset-paged by seq newest first without gaps or repeats, and an
// unfiltered call answering exactly as before the filters existed (oldest first after a seq).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { z } from 'zod';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import type { Principal } from '../auth/principal.ts';
import { ManualClock } from '../clock.ts';
import { StrataError } from '../errors.ts';
import { defineSyscall } from '../syscalls/define.ts';
import { Kernel } from '../kernel.ts';
import type { AuditEntry } from './entry.ts';

type Page = { entries: AuditEntry[]; next?: number; head: { seq: number; hash: string } };

onEveryStore('kernel.audit.list filters', (db) => {
  const clock = new ManualClock(1_800_000_000_000);
  let kernel: Kernel;
  let admin: Principal;
  let narrow: Principal;
  const list = (input: Record<string, unknown>): Promise<Page> =>
    kernel.call<Page>('kernel.audit.list', input, { principal: admin });

  before(async () => {
    kernel = await Kernel.open({ store: await db().open(), masterKey: randomBytes(32), clock });
    kernel.register(
      defineSyscall({
        name: 'test.refuse',
        description: 'always fails',
        input: z.object({}),
        output: z.object({}),
        idempotency: 'pure',
        retry: { attempts: 1 },
        handler: () => {
          throw new StrataError('E_CONFLICT', 'no');
        },
      }),
    );
    const tenant = await kernel.principals.createTenant('audit-query');
    const make = async (name: string, grants: { syscall: string; resource: string }[]) =>
      kernel.authenticate({
        apiKey: (await kernel.principals.createApiKey({ tenantId: tenant.id, name, grants })).key,
      });
    admin = await make('admin', [{ syscall: '*', resource: '*' }]);
    narrow = await make('narrow', [{ syscall: 'kernel.echo', resource: '*' }]);
    // 30 calls a second apart: echoes of the narrow key, its denials, and the admin's failures.
    for (let i = 0; i < 30; i++) {
      clock.advance(1000);
      if (i % 3 === 0) await kernel.call('kernel.echo', { message: `m${i}` }, { principal: narrow });
      else if (i % 3 === 1)
        await assert.rejects(
          kernel.call('kernel.time', {}, { principal: narrow }),
          withCode('E_CAPABILITY_DENIED'),
        );
      else await assert.rejects(kernel.call('test.refuse', {}, { principal: admin }), withCode('E_CONFLICT'));
    }
    await kernel.audit.flush();
  });
  after(() => kernel.close());

  it('answers an unfiltered call as before: oldest first after a seq, plus the head', async () => {
    const all = await list({ afterSeq: 0, limit: 1000 });
    const seqs = all.entries.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
    );
    assert.equal(all.head.seq, seqs.length);
    assert.equal(all.head.hash, all.entries.at(-1)?.hash);
    assert.equal(all.next, undefined, 'a page short of the limit has no next');
    const after10 = await list({ afterSeq: 10, limit: 5 });
    assert.deepEqual(
      after10.entries.map((e) => e.seq),
      [11, 12, 13, 14, 15],
    );
    assert.equal(after10.next, 15);
  });

  it('filters by syscall name prefix, outcome and principal', async () => {
    const echoes = (await list({ action: 'kernel.ec', limit: 1000 })).entries;
    assert.equal(echoes.length, 10);
    assert.ok(echoes.every((e) => e.action === 'kernel.echo'));
    const denied = (await list({ outcome: 'denied', limit: 1000 })).entries;
    assert.equal(denied.length, 10);
    assert.ok(denied.every((e) => e.action === 'kernel.time' && e.principalId === narrow.id));
    const errors = (await list({ outcome: 'error', limit: 1000 })).entries;
    assert.equal(errors.length, 10);
    assert.ok(errors.every((e) => e.action === 'test.refuse' && e.errorCode === 'E_CONFLICT'));
    assert.equal((await list({ principalId: admin.id, action: 'test.', limit: 1000 })).entries.length, 10);
    const byNarrow = (await list({ principalId: narrow.id, outcome: 'ok', limit: 1000 })).entries;
    assert.equal(byNarrow.length, 10);
    assert.deepEqual((await list({ action: 'nothing.', limit: 10 })).entries, []);
  });

  it('keeps to a time window: since inclusive, until exclusive', async () => {
    const all = (await list({ action: 'kernel.echo', limit: 1000 })).entries;
    const [from, to] = [all[4]?.ts ?? 0, all[9]?.ts ?? 0];
    const window = (await list({ action: 'kernel.echo', since: from, until: to, limit: 1000 })).entries;
    assert.deepEqual(
      window.map((e) => e.seq),
      all.slice(4, 9).map((e) => e.seq),
    );
  });

  it('pages newest first by seq without gaps or repeats, filtered', async () => {
    const expected = (await list({ action: 'kernel.echo', limit: 1000 })).entries.map((e) => e.seq).reverse();
    const seen: number[] = [];
    let beforeSeq: number | undefined;
    for (;;) {
      const page = await list({
        action: 'kernel.echo',
        order: 'desc',
        limit: 7,
        ...(beforeSeq ? { beforeSeq } : {}),
      });
      seen.push(...page.entries.map((e) => e.seq));
      if (page.next === undefined) break;
      beforeSeq = page.next;
    }
    assert.deepEqual(seen, expected);
  });

  it('refuses a cursor that does not fit the order, naming it', async () => {
    await assert.rejects(list({ beforeSeq: 5 }), (e: Error) => /beforeSeq/.test(JSON.stringify(e)));
    await assert.rejects(list({ order: 'desc', afterSeq: 5 }), withCode('E_INVALID_INPUT'));
    await assert.rejects(list({ outcome: 'maybe' }), withCode('E_INVALID_INPUT'));
  });
});
