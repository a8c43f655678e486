// Which run the pipeline writes into a call's audit entry: the run the call was made in (with its
// root when the engine gave one), for every outcome, denials before validation included; else,
// outside any run, the run the definition says the call acts on (from the output once it ran, from
// the input when it failed or was refused); a failing `auditRun` never fails the call. And
// kernel.audit.list's run filters: a malformed run id is E_INVALID_INPUT naming the field.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { z } from 'zod';
import { freshDatabase, withCode } from '../../testkit/stores.ts';
import type { AuditEntry } from '../audit/entry.ts';
import type { Principal } from '../auth/principal.ts';
import { StrataError } from '../errors.ts';
import { newId } from '../ids.ts';
import { Kernel } from '../kernel.ts';
import { defineSyscall } from './define.ts';

let drop: () => Promise<void>;
let kernel: Kernel;
let admin: Principal;
/** Granted test.* on resources under `mine/` only. */
let narrow: Principal;
const [inRun, root, target, targetRoot] = [newId('run'), newId('run'), newId('run'), newId('run')];

before(async () => {
  const db = await freshDatabase('sqlite');
  drop = () => db.drop();
  kernel = await Kernel.open({ store: await db.open(), masterKey: randomBytes(32) });
  kernel.register(
    defineSyscall({
      name: 'test.steer',
      description: 'acts on a run; fails when asked',
      input: z.object({
        runId: z.string(),
        fail: z.boolean().default(false),
        where: z.string().default('mine/x'),
      }),
      output: z.object({ id: z.string(), rootId: z.string() }),
      idempotency: 'pure',
      resource: (input) => input.where,
      auditRun: (input, output) => ({ runId: input.runId, rootRunId: output?.rootId }),
      handler: (input) => {
        if (input.fail) throw new StrataError('E_CONFLICT', 'refused');
        return { id: input.runId, rootId: targetRoot };
      },
    }),
  );
  kernel.register(
    defineSyscall({
      name: 'test.broken_naming',
      description: 'its auditRun throws',
      input: z.object({}),
      output: z.object({}),
      idempotency: 'pure',
      auditRun: () => {
        throw new Error('no run here');
      },
      handler: () => ({}),
    }),
  );
  const tenant = await kernel.principals.createTenant('audit-run');
  const keyOf = async (grants: { syscall: string; resource: string }[]) =>
    kernel.authenticate({
      apiKey: (await kernel.principals.createApiKey({ tenantId: tenant.id, name: 'k', grants })).key,
    });
  admin = await keyOf([{ syscall: '*', resource: '*' }]);
  narrow = await keyOf([{ syscall: 'test.*', resource: 'mine/*' }]);
});
after(async () => {
  await kernel.close();
  await drop();
});

/** The newest audit entry (the call just made). */
async function newest(): Promise<AuditEntry> {
  await kernel.audit.flush();
  const [entry] = await kernel.audit.list(admin.tenantId, { order: 'desc', limit: 1 });
  assert.ok(entry);
  return entry;
}
const runOf = (e: AuditEntry): [string | undefined, string | undefined] => [e.runId, e.rootRunId];

it('records the run a call was made in, with its root, whatever the outcome', async () => {
  const inside = { runId: inRun, attribution: { rootId: root, attempt: 1 } };
  await kernel.call('kernel.echo', { message: 'hi' }, { principal: admin, ...inside });
  assert.deepEqual(runOf(await newest()), [inRun, root]);
  await kernel.call('kernel.echo', { message: 'hi' }, { principal: admin, runId: inRun });
  assert.deepEqual(runOf(await newest()), [inRun, undefined]);
  // Denied before validation (no grant for the name): still the run it was made in.
  await assert.rejects(
    kernel.call('kernel.time', {}, { principal: narrow, ...inside }),
    withCode('E_CAPABILITY_DENIED'),
  );
  assert.deepEqual([(await newest()).outcome, ...runOf(await newest())], ['denied', inRun, root]);
  // Made in a run and acting on another: the entry belongs to the run it was made in.
  await kernel.call('test.steer', { runId: target }, { principal: admin, ...inside });
  assert.deepEqual(runOf(await newest()), [inRun, root]);
});

it('outside any run, records the run the call acts on: from its output, or its input when refused', async () => {
  await kernel.call('test.steer', { runId: target }, { principal: admin });
  assert.deepEqual(runOf(await newest()), [target, targetRoot]);
  await assert.rejects(
    kernel.call('test.steer', { runId: target, fail: true }, { principal: admin }),
    withCode('E_CONFLICT'),
  );
  assert.deepEqual([(await newest()).outcome, ...runOf(await newest())], ['error', target, undefined]);
  // Denied after validation (granted test.*, not on this resource): the input names the run.
  await assert.rejects(
    kernel.call('test.steer', { runId: target, where: 'theirs/x' }, { principal: narrow }),
    withCode('E_CAPABILITY_DENIED'),
  );
  assert.deepEqual([(await newest()).outcome, ...runOf(await newest())], ['denied', target, undefined]);
  // A call that names no run has none, and an auditRun that throws does not fail the call.
  await kernel.call('kernel.echo', { message: 'plain' }, { principal: admin });
  assert.deepEqual(runOf(await newest()), [undefined, undefined]);
  await kernel.call('test.broken_naming', {}, { principal: admin });
  const broken = await newest();
  assert.deepEqual(
    [broken.action, broken.outcome, ...runOf(broken)],
    ['test.broken_naming', 'ok', undefined, undefined],
  );
  assert.equal((await kernel.audit.verify(admin.tenantId)).ok, true);
});

it('kernel.audit.list filters by run and by tree, and names a malformed run id', async () => {
  type Page = { entries: AuditEntry[] };
  const list = (input: unknown) => kernel.call<Page>('kernel.audit.list', input, { principal: admin });
  const ofTarget = (await list({ runId: target, limit: 1000 })).entries;
  assert.deepEqual(
    ofTarget.map((e) => [e.action, e.outcome]),
    [
      ['test.steer', 'ok'],
      ['test.steer', 'error'],
      ['test.steer', 'denied'],
    ],
  );
  const tree = (await list({ rootRunId: root, limit: 1000 })).entries;
  assert.equal(tree.length, 3, 'the calls made in a run whose root was given');
  assert.ok(tree.every((e) => e.runId === inRun));
  for (const [field, value] of [
    ['runId', 'not-a-run'],
    ['runId', `${target}x`],
    ['runId', target.toLowerCase()],
    ['rootRunId', "run_' OR 1=1 --"],
  ]) {
    const before = (await kernel.audit.head(admin.tenantId)).seq;
    await assert.rejects(list({ [field as string]: value }), (error: unknown) => {
      assert.ok(withCode('E_INVALID_INPUT')(error), String(error));
      const issues = (error as StrataError).data as { issues: { path: string; message: string }[] };
      assert.equal(issues.issues[0]?.path, field);
      assert.match(issues.issues[0]?.message ?? '', /must be a run id/);
      return true;
    });
    // Refused at validation, before anything is written (invalid input is not audited).
    assert.equal((await kernel.audit.head(admin.tenantId)).seq, before);
  }
});
