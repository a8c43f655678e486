/**
 * The identity layer in a running server: an agent made through `identity.agents.create` is
 * published in `/.well-known/jwks.json`; a mailbox made through `mail.mailboxes.create` receives a
 * message sent with nodemailer to the server's own SMTP port, and `mail.list` shows it, flagged
 * unauthenticated (nothing signed it and no DNS vouches for its sender).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { configSchema, type Principal } from '../src/kernel/index.ts';
import { bootstrapDefaultTenant, openRuntime, type Runtime } from '../src/server/runtime.ts';
import { startServer, type ServerHandle } from '../src/server/server.ts';

void describe('identity in the running server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-identity-'));
  let runtime: Runtime;
  let server: ServerHandle;
  let principal: Principal;
  const call = <T>(name: string, input: unknown): Promise<T> =>
    runtime.kernel.call<T>(name, input, { principal });

  before(async () => {
    const config = configSchema.parse({
      dataDir,
      mail: { hostname: 'mx.strata.test', domains: ['agents.test'], smtpPort: 0 },
    });
    runtime = await openRuntime({ config });
    const boot = await bootstrapDefaultTenant(runtime);
    principal = await runtime.kernel.authenticate({ apiKey: boot.adminKey });
    await runtime.kernel.principals.createAgent({ tenantId: boot.tenantId, name: 'scout' });
    server = await startServer({ runtime, host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await server?.close();
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  void it('publishes a new agent in the JWKS', async () => {
    const agent = await call<{ did: string; kid?: string }>('identity.agents.create', { agent: 'scout' });
    assert.match(agent.did, /^did:key:z6Mk/);
    const res = await fetch(`${server.url}/.well-known/jwks.json`);
    assert.equal(res.status, 200);
    const jwks = (await res.json()) as { keys: { kty: string; crv: string; x: string }[] };
    assert.ok(jwks.keys.length >= 1);
    assert.deepEqual([jwks.keys[0]?.kty, jwks.keys[0]?.crv], ['OKP', 'Ed25519']);
    assert.equal(JSON.stringify(jwks).includes('"d"'), false, 'no private key part');
  });

  void it('receives mail on its SMTP port into the agent’s mailbox', async () => {
    const box = await call<{ id: string; address: string }>('mail.mailboxes.create', {
      agent: 'scout',
      address: 'scout@agents.test',
    });
    const port = runtime.identity.smtp?.port;
    assert.ok(port);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
    await transport.sendMail({
      from: 'someone@sender.test',
      to: 'scout@agents.test',
      subject: 'Your code',
      text: 'Your verification code is 482913.',
    });
    const { messages } = await call<{
      messages: { subject: string; direction: string; authenticated?: boolean }[];
    }>('mail.list', { mailbox: box.id });
    assert.equal(messages.length, 1);
    assert.equal(messages[0]?.subject, 'Your code');
    assert.equal(messages[0]?.direction, 'in');
    await assert.rejects(
      transport.sendMail({ from: 'a@sender.test', to: 'nobody@agents.test', subject: 'x', text: 'x' }),
      /550/,
    );
  });
});
