// The syscall pipeline end to end on both engines: deny by default (and audited), tenant isolation,
// secrets kept out of logs, audit, traces and errors, retries by error class, timeouts, output
// validation, the budget and journal hooks, and draining.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, it } from 'node:test';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { z } from 'zod';
import { onEveryStore, withCode } from '../testkit/stores.ts';
import { StrataError } from './errors.ts';
import { Kernel } from './kernel.ts';
import { createLogger } from './logger.ts';
import type { Principal } from './auth/principal.ts';
import type { Grant } from './auth/grants.ts';
import { defineSyscall, secret } from './syscalls/define.ts';
import type { BudgetHook, JournalHook } from './syscalls/hooks.ts';

const SECRET = 'sk-live-7f3a9c1e-never-leak-me';

onEveryStore('syscall pipeline', (db) => {
  let kernel: Kernel;
  const logLines: string[] = [];
  const spans = new InMemorySpanExporter();
  const journal = new Map<string, unknown>();
  const budgetCalls: string[] = [];
  let budgetLeft = 1_000;
  let effects = 0;
  let flaky = 0;
  const metered: string[] = [];

  const budget: BudgetHook = {
    reserve: ({ estimateMicros }) => {
      budgetCalls.push(`reserve:${estimateMicros}`);
      if (estimateMicros > budgetLeft)
        return Promise.reject(new StrataError('E_BUDGET_EXCEEDED', 'budget exhausted'));
      budgetLeft -= estimateMicros;
      return Promise.resolve({ id: `r${budgetCalls.length}` });
    },
    commit: (_r, actual) => Promise.resolve(void budgetCalls.push(`commit:${actual}`)),
    release: (_r, reason) => Promise.resolve(void budgetCalls.push(`release:${reason}`)),
  };
  const journalHook: JournalHook = {
    recall: (ref) =>
      Promise.resolve(journal.has(ref.stepKey) ? { output: journal.get(ref.stepKey) } : undefined),
    record: (ref, output) => Promise.resolve(void journal.set(ref.stepKey, output)),
  };

  before(async () => {
    const destination = new Writable({
      write: (chunk: Buffer, _e, done) => (logLines.push(chunk.toString()), done()),
    });
    kernel = await Kernel.open({
      store: await db().open(),
      masterKey: randomBytes(32),
      logger: createLogger({ level: 'trace', destination }),
      tracer: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).getTracer('test'),
      budget,
      journal: journalHook,
      meter: { record: (r) => void metered.push(r.syscall) },
    });
    kernel.register(
      defineSyscall({
        name: 'test.leaky',
        description: 'throws an error that quotes its secret input',
        input: z.object({ password: secret(z.string()), user: z.string() }),
        output: z.object({}),
        idempotency: 'pure',
        retry: { attempts: 1 },
        handler: (input) => {
          throw new Error(`login failed for ${input.user} with password ${input.password}`);
        },
      }),
    );
    kernel.register(
      defineSyscall({
        name: 'test.effect',
        description: 'counts its executions; costs 100',
        input: z.object({ fail: z.boolean().default(false) }),
        output: z.object({ count: z.number() }),
        idempotency: 'unsafe',
        estimateCost: () => 100,
        actualCost: () => 60,
        handler: (input) => {
          if (input.fail) throw new StrataError('E_UNAVAILABLE', 'downstream unavailable');
          return { count: ++effects };
        },
      }),
    );
    kernel.register(
      defineSyscall({
        name: 'test.flaky',
        description: 'fails twice with a retryable error, then succeeds',
        input: z.object({}),
        output: z.object({ attempts: z.number() }),
        idempotency: 'idempotent',
        retry: { attempts: 3, baseDelayMs: 1 },
        handler: () => {
          if (++flaky < 3) throw new StrataError('E_UNAVAILABLE', 'try again');
          return { attempts: flaky };
        },
      }),
    );
    kernel.register(
      defineSyscall({
        name: 'test.slow',
        description: 'sleeps past its timeout',
        input: z.object({ ms: z.number() }),
        output: z.object({}),
        idempotency: 'unsafe',
        timeoutMs: 50,
        handler: (input, ctx) =>
          new Promise((resolve) => {
            const t = setTimeout(() => resolve({}), input.ms);
            ctx.signal.addEventListener('abort', () => clearTimeout(t));
          }),
      }),
    );
    kernel.register(
      defineSyscall({
        name: 'test.badoutput',
        description: 'returns output that breaks its schema',
        input: z.object({}),
        output: z.object({ n: z.number() }),
        idempotency: 'pure',
        handler: () => ({ n: 'not a number' }) as unknown as { n: number },
      }),
    );
  });
  after(() => kernel.close());

  async function principalWith(grants: Grant[], tenantName?: string): Promise<Principal> {
    const name = tenantName ?? `t${randomBytes(4).toString('hex')}`;
    const tenant = await kernel.principals.createTenant(name).catch(() => kernel.principals.getTenant(name));
    const { key } = await kernel.principals.createApiKey({ tenantId: tenant.id, name: 'k', grants });
    return kernel.authenticate({ apiKey: key });
  }

  it('runs kernel.echo and kernel.time through the pipeline and audits them', async () => {
    const principal = await principalWith([{ syscall: 'kernel.*', resource: '*' }]);
    assert.deepEqual(await kernel.call('kernel.echo', { message: 'hi' }, { principal }), {
      message: 'hi',
      hadSecret: false,
    });
    const time = await kernel.call<{ now: number; iso: string }>('kernel.time', {}, { principal });
    assert.equal(new Date(time.iso).getTime(), time.now);
    const entries = await kernel.audit.list(principal.tenantId);
    assert.deepEqual(
      entries.map((e) => [e.action, e.outcome]),
      [
        ['kernel.echo', 'ok'],
        ['kernel.time', 'ok'],
      ],
    );
  });

  it("a quiet call (a live view's repeated read) leaves no record only when a pure syscall succeeds", async () => {
    const tenant = `quiet${randomBytes(4).toString('hex')}`;
    const principal = await principalWith([{ syscall: '*', resource: '*' }], tenant);
    const narrow = await principalWith([{ syscall: 'test.*', resource: '*' }], tenant);
    metered.length = 0;
    await kernel.call('kernel.time', {}, { principal, quiet: true });
    await assert.rejects(kernel.call('test.badoutput', {}, { principal, quiet: true }));
    await kernel.call('test.effect', {}, { principal, quiet: true }); // not pure: recorded
    await assert.rejects(
      kernel.call('kernel.time', {}, { principal: narrow, quiet: true }),
      withCode('E_CAPABILITY_DENIED'),
    );
    await kernel.call('kernel.time', {}, { principal }); // not quiet: recorded
    const entries = await kernel.audit.list(principal.tenantId);
    assert.deepEqual(
      entries.map((e) => [e.action, e.outcome]),
      [
        ['test.badoutput', 'error'],
        ['test.effect', 'ok'],
        ['kernel.time', 'denied'],
        ['kernel.time', 'ok'],
      ],
    );
    assert.deepEqual(metered, ['test.effect', 'kernel.time'], 'the quiet success was not metered either');
  });

  it('denies a syscall without a capability with E_CAPABILITY_DENIED, and audits the denial', async () => {
    const principal = await principalWith([{ syscall: 'kernel.time', resource: '*' }]);
    await assert.rejects(
      kernel.call('kernel.echo', { message: 'x' }, { principal }),
      withCode('E_CAPABILITY_DENIED'),
    );
    const none = await principalWith([]);
    await assert.rejects(
      kernel.call('kernel.time', {}, { principal: none }),
      withCode('E_CAPABILITY_DENIED'),
    );
    // Without any grant for the syscall, even invalid input is denied (the schema stays private).
    await assert.rejects(
      kernel.call('kernel.echo', { message: 42 }, { principal }),
      withCode('E_CAPABILITY_DENIED'),
    );
    const [entry] = await kernel.audit.list(principal.tenantId);
    assert.equal(entry?.action, 'kernel.echo');
    assert.equal(entry?.outcome, 'denied');
    assert.equal(entry?.errorCode, 'E_CAPABILITY_DENIED');
  });

  it('keeps one tenant’s key away from another tenant’s tokens and audit chain', async () => {
    const a = await principalWith([{ syscall: '*', resource: '*' }]);
    const b = await principalWith([{ syscall: '*', resource: '*' }]);
    const issued = await kernel.call<{ jti: string }>(
      'kernel.tokens.issue',
      { subject: 'agt_b', grants: [{ syscall: 'kernel.echo', resource: '*' }], ttlSeconds: 60 },
      { principal: b },
    );
    await assert.rejects(
      kernel.call('kernel.tokens.revoke', { jti: issued.jti }, { principal: a }),
      withCode('E_NOT_FOUND'),
    );
    const listed = await kernel.call<{ entries: { tenantId: string }[] }>(
      'kernel.audit.list',
      {},
      { principal: a },
    );
    assert.ok(listed.entries.length > 0);
    assert.ok(listed.entries.every((e) => e.tenantId === a.tenantId));
  });

  it('refuses to issue a token wider than the caller’s own grants', async () => {
    const narrow = await principalWith([
      { syscall: 'kernel.tokens.*', resource: '*' },
      { syscall: 'kernel.echo', resource: '*' },
    ]);
    await assert.rejects(
      kernel.call(
        'kernel.tokens.issue',
        { subject: 's', grants: [{ syscall: '*', resource: '*' }], ttlSeconds: 60 },
        { principal: narrow },
      ),
      withCode('E_ATTENUATION'),
    );
  });

  it('manages API keys through audited syscalls, never wider than the caller', async () => {
    const admin = await principalWith([{ syscall: 'kernel.*', resource: '*' }]);
    const created = await kernel.call<{ key: string; record: { id: string } }>(
      'kernel.keys.create',
      { name: 'ci', grants: [{ syscall: 'kernel.echo', resource: '*' }] },
      { principal: admin },
    );
    const ci = await kernel.authenticate({ apiKey: created.key });
    assert.equal(ci.tenantId, admin.tenantId);
    await assert.rejects(
      kernel.call(
        'kernel.keys.create',
        { name: 'root', grants: [{ syscall: '*', resource: '*' }] },
        { principal: admin },
      ),
      withCode('E_ATTENUATION'),
    );
    await kernel.call('kernel.keys.revoke', { id: created.record.id }, { principal: admin });
    await assert.rejects(kernel.authenticate({ apiKey: created.key }), withCode('E_UNAUTHENTICATED'));
    const actions = (await kernel.audit.list(admin.tenantId, { limit: 1000 })).map((e) => e.action);
    assert.deepEqual(actions, ['kernel.keys.create', 'kernel.keys.create', 'kernel.keys.revoke']);
    const rows = JSON.stringify(await kernel.store.all('SELECT * FROM kernel_audit'));
    assert.ok(!rows.includes(created.key), 'the new key is never audited');
  });

  it('never lets a secret input reach the log, the audit entry, a span or the error', async () => {
    const principal = await principalWith([{ syscall: '*', resource: '*' }]);
    await kernel.call('kernel.echo', { message: 'hello', secret: SECRET }, { principal });
    // A credential in a URL of a field not marked secret, accepted or refused.
    await kernel.call('kernel.echo', { message: `https://ada:${SECRET}@git.example/r.git` }, { principal });
    await kernel
      .call('test.leaky', { user: `https://${SECRET}@git.example/r.git`, password: 7 }, { principal })
      .catch(() => undefined);
    const error = await kernel
      .call('test.leaky', { user: 'ada', password: SECRET }, { principal })
      .catch((e: unknown) => e);
    assert.ok(error instanceof StrataError);
    assert.match(error.message, /login failed for ada/);
    const badInput = await kernel
      .call('test.leaky', { user: 7, password: SECRET }, { principal })
      .catch((e: unknown) => e);
    assert.ok(badInput instanceof StrataError && badInput.code === 'E_INVALID_INPUT');
    await kernel.audit.flush();
    const rows = await kernel.store.all('SELECT * FROM kernel_audit');
    const everything = [
      JSON.stringify(rows),
      logLines.join(''),
      JSON.stringify(spans.getFinishedSpans().map((s) => [s.name, s.attributes, s.status, s.events])),
      JSON.stringify(error),
      error.message,
      JSON.stringify(badInput),
    ].join('\n');
    assert.ok(!everything.includes(SECRET), 'the secret leaked');
    assert.ok(everything.includes('[REDACTED]'));
    assert.ok(spans.getFinishedSpans().some((s) => s.attributes['strata.syscall'] === 'test.leaky'));
  });

  it('retries retryable errors for idempotent syscalls, never for unsafe ones without a key', async () => {
    const principal = await principalWith([{ syscall: 'test.*', resource: '*' }]);
    assert.deepEqual(await kernel.call('test.flaky', {}, { principal }), { attempts: 3 });
    const before = effects;
    await assert.rejects(
      kernel.call('test.effect', { fail: true }, { principal }),
      withCode('E_UNAVAILABLE'),
    );
    assert.equal(effects, before);
  });

  it('times out with E_SYSCALL_TIMEOUT and rejects output that breaks the schema', async () => {
    const principal = await principalWith([{ syscall: 'test.*', resource: '*' }]);
    await assert.rejects(
      kernel.call('test.slow', { ms: 2_000 }, { principal }),
      withCode('E_SYSCALL_TIMEOUT'),
    );
    await assert.rejects(kernel.call('test.badoutput', {}, { principal }), withCode('E_INTERNAL'));
  });

  it('reserves the estimate, commits the actual cost, releases on failure, refuses when exhausted', async () => {
    const principal = await principalWith([{ syscall: 'test.*', resource: '*' }]);
    budgetCalls.length = 0;
    budgetLeft = 250;
    await kernel.call('test.effect', {}, { principal });
    await assert.rejects(
      kernel.call('test.effect', { fail: true }, { principal }),
      withCode('E_UNAVAILABLE'),
    );
    const executed = effects;
    await assert.rejects(kernel.call('test.effect', {}, { principal }), withCode('E_BUDGET_EXCEEDED'));
    assert.equal(effects, executed, 'the handler must not run without a reservation');
    assert.deepEqual(budgetCalls, [
      'reserve:100',
      'commit:60',
      'reserve:100',
      'release:E_UNAVAILABLE',
      'reserve:100',
    ]);
    const last = (await kernel.audit.list(principal.tenantId, { limit: 1000 })).at(-1);
    assert.equal(last?.errorCode, 'E_BUDGET_EXCEEDED');
  });

  it('returns a journaled result on replay without executing again', async () => {
    const principal = await principalWith([{ syscall: 'test.*', resource: '*' }]);
    budgetLeft = 1_000;
    const ref = { runId: 'run_1', stepKey: `${db().dialect}:1:test.effect` };
    const first = await kernel.call('test.effect', {}, { principal, journal: ref });
    const count = effects;
    const replayed = await kernel.call('test.effect', {}, { principal, journal: ref });
    assert.deepEqual(replayed, first);
    assert.equal(effects, count);
  });

  it('rejects unknown syscalls and invalid input before touching the store', async () => {
    const principal = await principalWith([{ syscall: '*', resource: '*' }]);
    const count = async (): Promise<number> =>
      Number((await kernel.store.get<{ n: number }>('SELECT COUNT(*) AS n FROM kernel_audit'))?.n);
    const before = await count();
    await assert.rejects(kernel.call('nope.nothing', {}, { principal }), withCode('E_UNKNOWN_SYSCALL'));
    await assert.rejects(
      kernel.call('kernel.echo', { message: 42 }, { principal }),
      withCode('E_INVALID_INPUT'),
    );
    await assert.rejects(
      kernel.call('kernel.echo', { message: 'x', extra: 1 }, { principal }),
      withCode('E_INVALID_INPUT'),
    );
    assert.equal(await count(), before);
  });

  it('drains: in-flight calls finish, new calls are refused', async () => {
    const principal = await principalWith([{ syscall: '*', resource: '*' }]);
    const slow = kernel.call('test.slow', { ms: 20 }, { principal });
    const left = await kernel.drain(1_000);
    assert.equal(left, 0);
    assert.deepEqual(await slow, {});
    await assert.rejects(kernel.call('kernel.time', {}, { principal }), withCode('E_SHUTTING_DOWN'));
  });
});
