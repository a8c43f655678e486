/**
 * Every resource kind through the runtime's `provision.*` syscalls, on real components: a database
 * on the local PostgreSQL server, a SQLite file, a bubblewrap sandbox and a Chromium context.
 * Each goes provision → use → idle → suspend → resume → destroy with an injected clock; every step
 * is metered, the month's invoice equals the hand-computed one, and the trial balance is zero.
 * Then admission: an unpriced kind fails closed and an exhausted budget refuses a provision, with
 * nothing made.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { configSchema, ManualClock, type Principal } from '../src/kernel/index.ts';
import { ResourceSweeper } from '../src/provisioning/index.ts';
import { openRuntime, type Runtime } from '../src/server/runtime.ts';
import { withCode } from '../src/testkit/stores.ts';

const MINUTE = 60_000;
const PRICES: Record<string, [provision: string, perSecond: string]> = {
  sqlite: ['0.01', '0.0001'],
  postgres: ['0.05', '0.0002'],
  sandbox: ['0.02', '0.0003'],
  browser: ['0.03', '0.0004'],
};

type Resource = { id: string; name: string; state: string; env: Record<string, string> };

describe('provisioning every kind through the runtime', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-prov-'));
  const clock = new ManualClock(Date.UTC(2026, 10, 10, 9, 0));
  let runtime: Runtime;
  let principal: Principal;
  let site: Server;
  let siteUrl: string;
  const call = <T>(name: string, input: unknown, p: Principal = principal): Promise<T> =>
    runtime.kernel.call<T>(name, input, { principal: p });

  const principalFor = async (tenant: string): Promise<Principal> => {
    const t = await runtime.kernel.principals.createTenant(tenant);
    const { key } = await runtime.kernel.principals.createApiKey({
      tenantId: t.id,
      name: 'admin',
      grants: [{ syscall: '*', resource: '*' }],
    });
    return runtime.kernel.authenticate({ apiKey: key });
  };

  before(async () => {
    site = createServer((_req, res) => res.end('<title>resource page</title><p>hello</p>'));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}/`;
    const config = configSchema.parse({
      dataDir,
      provisioning: { postgresAdminUrl: 'postgres://postgres@127.0.0.1:5432/postgres' },
    });
    runtime = await openRuntime({ config, clock });
    principal = await principalFor('acme');
    for (const [kind, [provision, perSecond]] of Object.entries(PRICES)) {
      await call('billing.prices.set', { meter: `${kind}.provisions`, unitAmount: provision });
      await call('billing.prices.set', { meter: `${kind}.ready_seconds`, unitAmount: perSecond });
    }
    await call('billing.prices.set', { meter: 'resource.transitions', unitAmount: '0' });
    await call('billing.prices.set', { meter: 'syscall.cost', unitAmount: '1' }); // syscalls at cost
    await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: '1.00' });
  });
  after(async () => {
    await runtime?.close();
    await new Promise((resolve) => site?.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Proves a resource works, with its own connection details. */
  const useIt = async (kind: string, r: Resource): Promise<void> => {
    const { env } = await call<{ env: Record<string, string> }>('provision.use', { resource: r.name });
    switch (kind) {
      case 'postgres': {
        const client = new pg.Client({ connectionString: env['DATABASE_URL'] });
        await client.connect();
        await client.query('CREATE TABLE IF NOT EXISTS notes (n int); INSERT INTO notes VALUES (1)');
        await client.end();
        return;
      }
      case 'sqlite': {
        const db = new Database(env['SQLITE_PATH']);
        db.exec('CREATE TABLE IF NOT EXISTS notes (n int); INSERT INTO notes VALUES (1)');
        db.close();
        return;
      }
      case 'sandbox': {
        const out = await call<{ exitCode: number; stdout: string }>('sandbox.exec', {
          sandbox: env['SANDBOX_NAME'],
          command: 'echo used >> log.txt; wc -l < log.txt',
        });
        assert.equal(out.exitCode, 0);
        return;
      }
      case 'browser': {
        const page = await call<{ title: string }>('browser.goto', {
          sessionId: env['BROWSER_SESSION'],
          url: siteUrl,
        });
        assert.equal(page.title, 'resource page');
        return;
      }
      default:
        throw new Error(`no use for ${kind}`);
    }
  };

  it(
    'provision → use → idle → suspend → resume → destroy for each kind, invoiced as computed by hand',
    { timeout: 180_000 },
    async () => {
      const start = clock.now();
      const made = new Map<string, Resource>();
      for (const kind of Object.keys(PRICES)) {
        const config = kind === 'browser' ? { allowUrls: [siteUrl] } : undefined;
        const r = await call<Resource>('provision.create', { kind, name: `my-${kind}`, config });
        assert.equal(r.state, 'ready', kind);
        made.set(kind, r);
        await useIt(kind, r);
      }
      assert.equal(
        JSON.stringify(made.get('postgres')?.env).includes('PGPASSWORD'),
        false,
        'no secret in the resource',
      );

      clock.advance(5 * MINUTE); // idle for the default 5 minutes
      const sweeper = new ResourceSweeper(runtime.resources);
      assert.equal((await sweeper.sweep()).suspended, 4);
      for (const r of made.values())
        assert.equal((await call<Resource>('provision.get', { resource: r.name })).state, 'suspended');
      // Suspended means scaled to zero: the database takes no connection, the session is closed.
      const { env } = await call<{ env: Record<string, string> }>('provision.env', { reveal: true });
      const refused = new pg.Client({ connectionString: env['MY_POSTGRES_DATABASE_URL'] });
      await assert.rejects(refused.connect());
      await refused.end().catch(() => undefined);
      const session = made.get('browser')?.env['BROWSER_SESSION'];
      await assert.rejects(call('browser.goto', { sessionId: session, url: siteUrl }));

      clock.advance(10 * MINUTE); // nothing accrues while suspended
      for (const [kind, r] of made) {
        assert.equal((await call<Resource>('provision.resume', { resource: r.name })).state, 'ready');
        await useIt(kind, r); // data survived, the resource works again
      }
      clock.advance(2 * MINUTE);
      for (const r of made.values())
        assert.equal((await call<Resource>('provision.destroy', { resource: r.name })).state, 'destroying');
      await runtime.resources.idle();
      for (const r of made.values())
        assert.equal((await call<Resource>('provision.get', { resource: r.name })).state, 'destroyed');
      assert.equal(existsSync(made.get('sqlite')?.env['SQLITE_PATH'] as string), false);

      // Hand computation: each kind was ready 5 + 2 minutes = 420 s, and provisioned once.
      const invoice = await call<{
        lines: { meter: string; quantity: string; amount: string }[];
        totals: { currency: string; amount: string }[];
        unpriced: unknown[];
      }>('billing.invoice', { period: '2026-11' });
      const line = (meter: string) => invoice.lines.find((l) => l.meter === meter);
      for (const [kind, [provision, perSecond]] of Object.entries(PRICES)) {
        assert.equal(line(`${kind}.provisions`)?.quantity, '1', kind);
        assert.equal(line(`${kind}.ready_seconds`)?.quantity, '420', kind);
        assert.equal(line(`${kind}.provisions`)?.amount, provision, kind);
        const expected = (Math.round(420 * Number(perSecond) * 100) / 100).toFixed(2);
        assert.equal(line(`${kind}.ready_seconds`)?.amount, expected, kind);
      }
      // 0.01+0.04 (sqlite) + 0.05+0.08 (postgres) + 0.02+0.13 (sandbox) + 0.03+0.17 (browser)
      assert.deepEqual(invoice.totals, [{ currency: 'USD', amount: '0.53' }]);
      assert.deepEqual(invoice.unpriced, []);

      // Each step is in the history with its time; the budget held and posted each provision price.
      const history = await call<{ transitions: { to: string; reason: string; at: string }[] }>(
        'provision.history',
        {
          resource: made.get('postgres')?.id,
        },
      );
      assert.deepEqual(
        history.transitions.map((t) => `${t.to}:${t.reason}`),
        [
          'pending:requested',
          'ready:provisioned',
          'suspended:idle',
          'ready:resumed by request',
          'destroying:destroy requested',
          'destroyed:torn down',
        ],
      );
      assert.equal(history.transitions[2]?.at, new Date(start + 5 * MINUTE).toISOString());
      const budgets = await call<{ budgets: { spent: string; held: string }[] }>('billing.budgets.list', {});
      assert.equal(budgets.budgets[0]?.spent, '0.11', 'the four provision prices');
      assert.equal(budgets.budgets[0]?.held, '0.00', 'no hold left behind');

      // The month closes; posting the invoice charges it once and the books balance to zero.
      clock.set(Date.UTC(2026, 11, 1, 0, 0, 1));
      const posted = await runtime.rating.post(principal.tenantId, '2026-11');
      assert.ok(posted);
      const balance = await runtime.billing.ledger.trialBalance(principal.tenantId);
      assert.ok(balance.length > 0);
      for (const line of balance) {
        assert.equal(line.difference, 0n, `trial balance in ${line.currency}`);
        assert.ok(line.debitsPosted >= 530_000n, 'the invoice (0.53) was posted');
      }
    },
  );

  it('a spend token pays for a provision within its scope, once; its secret is never recorded', async () => {
    type Token = { id: string; status: string; capturedAmount: string; deactivatedReason?: string };
    const issued = await call<{ token: string; info: Token }>('billing.tokens.issue', {
      scope: { kinds: ['sqlite'] },
      maxAmount: '0.05',
      expiresAt: new Date(clock.now() + 60 * MINUTE).toISOString(),
      usage: 'single',
    });
    const paid = await call<Resource>('provision.create', {
      kind: 'sqlite',
      name: 'paid',
      spendToken: issued.token,
    });
    assert.equal(paid.state, 'ready');
    const after = await call<Token>('billing.tokens.inspect', { id: issued.info.id });
    assert.deepEqual(
      [after.capturedAmount, after.status, after.deactivatedReason],
      ['0.01', 'deactivated', 'consumed'],
    );
    await assert.rejects(
      call('provision.create', { kind: 'sqlite', name: 'paid-again', spendToken: issued.token }),
      withCode('E_SPEND_TOKEN_INACTIVE'),
    );
    const postgresOnly = await call<{ token: string }>('billing.tokens.issue', {
      scope: { kinds: ['postgres'] },
      maxAmount: '1.00',
      expiresAt: new Date(clock.now() + 60 * MINUTE).toISOString(),
    });
    await assert.rejects(
      call('provision.create', { kind: 'sqlite', name: 'wrong-kind', spendToken: postgresOnly.token }),
      withCode('E_SPEND_TOKEN_SCOPE'),
    );
    const names = (await call<{ resources: Resource[] }>('provision.list', {})).resources.map((r) => r.name);
    assert.ok(names.includes('paid') && !names.includes('paid-again') && !names.includes('wrong-kind'));
    await runtime.kernel.audit.flush();
    const entries = await runtime.kernel.audit.list(principal.tenantId, { limit: 10_000 });
    const recorded = JSON.stringify(entries);
    assert.ok(recorded.includes('provision.create'));
    assert.equal(recorded.includes(issued.token), false, 'the secret is in no audit entry');
    assert.equal(recorded.includes(postgresOnly.token), false);
  });

  it('an unpriced kind fails closed and an exhausted budget refuses a provision: nothing is made', async () => {
    const other = await principalFor('frugal');
    await assert.rejects(
      call('provision.create', { kind: 'sqlite', name: 'free' }, other),
      withCode('E_NO_PRICE'),
    );
    await call('billing.prices.set', { meter: 'sqlite.provisions', unitAmount: '0.40' }, other);
    await call('billing.prices.set', { meter: 'sqlite.ready_seconds', unitAmount: '0.0001' }, other);
    await call('billing.budgets.set', { scope: 'tenant', period: 'month', limit: '0.50' }, other);
    // 100 concurrent repeats of one key against a budget that covers one provision: all get the
    // same resource (none is refused for budget), and it is charged once.
    const replies = await Promise.all(
      Array.from({ length: 100 }, () =>
        call<Resource>('provision.create', { kind: 'sqlite', name: 'one', idempotencyKey: 'k-one' }, other),
      ),
    );
    const first = replies[0] as Resource;
    assert.equal(first.state, 'ready');
    for (const reply of replies) assert.deepEqual(reply, first);
    const [budget] = (
      await call<{ budgets: { spent: string; held: string }[] }>('billing.budgets.list', {}, other)
    ).budgets;
    assert.deepEqual([budget?.spent, budget?.held], ['0.40', '0.00'], 'charged once, no hold left');
    await assert.rejects(
      call('provision.create', { kind: 'sqlite', name: 'two' }, other),
      withCode('E_BUDGET_EXCEEDED'),
    );
    const left = await call<{ resources: Resource[] }>('provision.list', {}, other);
    assert.deepEqual(
      left.resources.map((r) => r.name),
      ['one'],
      'the refused provision left no row',
    );
    assert.equal(existsSync(join(dataDir, 'resources', 'sqlite', other.tenantId)), true);
  });
});
