import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { Kernel, ManualClock, type Principal } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { AgentIdentities } from '../agents/agent-identities.ts';
import { Delegations } from './delegations.ts';
import { delegationSyscalls } from './syscalls.ts';
import { invoke, testSigner } from './testing.ts';
import { linkId } from './tokens.ts';

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

onEveryStore('delegation syscalls', (db) => {
  let kernel: Kernel;
  let admin: Principal;
  let tenantId: string;
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  const dids: Record<string, string> = {};

  before(async () => {
    const store = await db().open();
    const masterKey = randomBytes(32);
    kernel = await Kernel.open({ store, masterKey, clock });
    const identities = await AgentIdentities.open({ store, masterKey, clock });
    const delegations = await Delegations.open({
      store,
      clock,
      trustedSubject: (tenant, did) => identities.ownsDid(tenant, did),
    });
    for (const d of delegationSyscalls({ delegations, identities })) kernel.register(d);
    tenantId = (await kernel.principals.createTenant('acme')).id;
    const { key } = await kernel.principals.createApiKey({
      tenantId,
      name: 'admin',
      grants: [{ syscall: '*', resource: '*' }],
    });
    admin = await kernel.authenticate({ apiKey: key });
    for (const name of ['alice', 'bob', 'carol', 'dave']) {
      await kernel.principals.createAgent({ tenantId, name });
      dids[name] = (await identities.create(tenantId, name)).did;
    }
  });
  after(() => kernel.close(1000));

  const call = <T>(name: string, input: unknown): Promise<T> =>
    kernel.call<T>(name, input, { principal: admin });
  const issue = async (from: string, to: string, over: Record<string, unknown> = {}): Promise<string> =>
    (
      await call<{ jws: string }>('identity.delegation.issue', {
        from,
        to: dids[to] ?? to,
        sub: dids['alice'],
        cmd: '/crypto',
        pol: [['<=', '.args.amount', 100]],
        ttlSeconds: 3600,
        ...over,
      })
    ).jws;
  const chain = async (last: Record<string, unknown> = {}): Promise<string[]> => [
    await issue('alice', 'bob'),
    await issue('bob', 'carol', { cmd: '/crypto/sign' }),
    await issue('carol', 'dave', { cmd: '/crypto/sign', ...last }),
  ];
  const sign = async (proofs: string[], over: Record<string, unknown> = {}): Promise<string> =>
    (
      await call<{ invocation: string }>('identity.delegation.sign', {
        from: 'dave',
        sub: dids['alice'],
        cmd: '/crypto/sign',
        args: { amount: 10 },
        proofs,
        ...over,
      })
    ).invocation;
  const audited = async (): Promise<
    { action: string; outcome: string; error_code: string | null; detail: string }[]
  > => {
    await kernel.audit.flush();
    return kernel.store.all(
      'SELECT action, outcome, error_code, detail FROM kernel_audit WHERE tenant_id = ? ORDER BY seq',
      [tenantId],
    );
  };
  /** Refused by invoke with `code`, and that refusal is the newest audit entry. */
  const refused = async (invocation: string, code: string): Promise<void> => {
    await assert.rejects(call('identity.delegation.invoke', { invocation }), withCode(code));
    const last = (await audited()).at(-1);
    assert.deepEqual(
      [last?.action, last?.outcome, last?.error_code],
      ['identity.delegation.invoke', 'error', code],
    );
    const explained = await call<{ allowed: boolean; code: string }>('identity.delegation.explain', {
      invocation,
    });
    assert.deepEqual([explained.allowed, explained.code], [false, code]);
  };

  it('issues a 3-link chain between vault agents; dave invokes once; the audit keeps ids, not the token', async () => {
    const invocation = await sign(await chain());
    const ok = await call<{ cmd: string; chain: { cid: string }[] }>('identity.delegation.verify', {
      invocation,
    });
    assert.equal(ok.chain.length, 4);
    await call('identity.delegation.invoke', { invocation });
    await refused(invocation, 'E_DELEGATION_REPLAY');
    const entries = await audited();
    assert.ok(!JSON.stringify(entries).includes(invocation), 'the invocation is redacted from the audit');
    const used = entries.find((e) => e.action === 'identity.delegation.invoke' && e.outcome === 'ok');
    assert.ok(used?.detail.includes(ok.chain[1]?.cid ?? '?'), 'the audit keeps the chain’s link ids');
  });

  it('refuses and audits a widened command, the /crypto prefix trick and a looser policy', async () => {
    await refused(await sign(await chain({ cmd: '/crypto' })), 'E_DELEGATION_ATTENUATION');
    await refused(
      await sign(await chain({ cmd: '/cryptocurrency' }), { cmd: '/cryptocurrency' }),
      'E_DELEGATION_ATTENUATION',
    );
    await refused(await sign(await chain(), { cmd: '/cryptocurrency' }), 'E_DELEGATION_COMMAND');
    await refused(await sign(await chain({ pol: [] })), 'E_DELEGATION_ATTENUATION');
    await refused(await sign(await chain(), { args: { amount: 101 } }), 'E_DELEGATION_POLICY');
  });

  it('refuses and audits a forged signature, a misaligned chain and a stranger’s invocation', async () => {
    const prf = await chain();
    const [h, p, s] = (prf[1] as string).split('.');
    const body = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>;
    await refused(
      await sign([prf[0] as string, `${h}.${b64({ ...body, pol: [] })}.${s}`, prf[2] as string]),
      'E_DELEGATION_SIGNATURE',
    );
    await refused(await sign([prf[0] as string, prf[2] as string]), 'E_DELEGATION_CHAIN');
    const mallory = testSigner();
    const stolen = await invoke(mallory, {
      nowSeconds: Math.floor(clock.now() / 1000),
      sub: dids['alice'],
      cmd: '/crypto/sign',
      args: { amount: 1 },
      prf,
    });
    await refused(stolen, 'E_DELEGATION_INVOKER');
    // A chain rooted in a stranger's key is valid UCAN, but this tenant does not serve its subject.
    const rootless = await invoke(mallory, { nowSeconds: Math.floor(clock.now() / 1000), cmd: '/crypto' });
    await refused(rootless, 'E_DELEGATION_CHAIN');
  });

  it('refuses and audits alg:none and HS256 keyed with the public key', async () => {
    const invocation = await sign(await chain());
    const [h, p] = invocation.split('.');
    const typ = (JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as { typ: string }).typ;
    await refused(`${b64({ alg: 'none', typ })}.${p}.`, 'E_DELEGATION_ALG');
    const input = `${b64({ alg: 'HS256', typ })}.${p}`;
    const raw = Buffer.from(dids['dave'] ?? '');
    await refused(
      `${input}.${createHmac('sha256', raw).update(input).digest('base64url')}`,
      'E_DELEGATION_ALG',
    );
  });

  it('refuses and audits an expired link', async () => {
    const prf = [await issue('alice', 'bob'), await issue('bob', 'dave', { ttlSeconds: 30 })];
    const invocation = await sign(prf);
    await call('identity.delegation.verify', { invocation });
    clock.advance(30_000);
    await refused(invocation, 'E_DELEGATION_EXPIRED');
  });

  it('revokes the middle link through a syscall: every chain through it is refused and audited', async () => {
    const prf = await chain();
    const pending = await sign(prf);
    const below = await issue('dave', dids['bob'] ?? '', { cmd: '/crypto/sign' });
    const revoked = await call<{ cid: string }>('identity.delegation.revoke', {
      cid: linkId(prf[1] as string),
      reason: 'compromised',
    });
    assert.equal(revoked.cid, linkId(prf[1] as string));
    await refused(pending, 'E_DELEGATION_REVOKED');
    await refused(await sign([...prf, below], { from: 'bob' }), 'E_DELEGATION_REVOKED');
    await call('identity.delegation.invoke', { invocation: await sign(prf.slice(0, 1), { from: 'bob' }) });
    await assert.rejects(
      call('identity.delegation.revoke', { cid: 'sha256:xyz' }),
      withCode('E_INVALID_INPUT'),
    );
  });

  it('explains an allowed invocation with its chain and rule, without using it up', async () => {
    const invocation = await sign(await chain());
    const out = await call<{ allowed: boolean; rule: string; chain: { iss: string }[] }>(
      'identity.delegation.explain',
      {
        invocation,
      },
    );
    assert.deepEqual(
      [out.allowed, out.rule, out.chain.map((l) => l.iss)],
      [true, 'all-rules-passed', [dids['alice'], dids['bob'], dids['carol'], dids['dave']]],
    );
    await call('identity.delegation.invoke', { invocation });
  });
});
