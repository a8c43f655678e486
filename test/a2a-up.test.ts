/**
 * A2A 1.0 in the running server: the default tenant's agents, once they have an identity, are
 * listed in `/.well-known/ai-catalog.json`, serve a card signed by their own key (verified against
 * the server's `/.well-known/jwks.json`, with proof of possession), answer messages through the
 * official SDK client and list their tasks. An agent given an identity after start appears at
 * once, and a key rotation re-signs its card; a request without `A2A-Version` (that is A2A 0.3)
 * is refused with -32009. Callers authenticate with a Strata key granted `a2a.message` on the
 * agent; tasks are theirs alone; each task is a durable run, and a run waiting in `askCaller`
 * is a task in INPUT_REQUIRED that the caller's next message resumes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TaskState, verifyAgentCardSignature } from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  JsonRpcTransportFactory,
  type Client,
} from '@a2a-js/sdk/client';
import { z } from 'zod';
import type { JWK } from 'jose';
import { configSchema, isStrataError, type Principal } from '../src/kernel/index.ts';
import { a2aTaskInput, a2aTaskOutput, askCaller, verifyCard, type AiCatalog } from '../src/identity/index.ts';
import { defineWorkflow } from '../src/orchestration/index.ts';
import { textMessage } from '../src/identity/a2a/parts.ts';
import { bootstrapDefaultTenant, openRuntime, type Runtime } from '../src/server/runtime.ts';
import { startServer, type ServerHandle } from '../src/server/server.ts';

const send = (text: string, taskId?: string) => ({
  tenant: '',
  message: textMessage({ role: 'user', text, ...(taskId ? { taskId } : {}) }),
  configuration: undefined,
  metadata: undefined,
});

/** A workflow that asks its caller a question before answering. */
const weather = defineWorkflow(
  { name: 'test.weather', version: 1, input: a2aTaskInput, output: a2aTaskOutput },
  async (ctx) => {
    const city = await askCaller(ctx, 'Which city?');
    return { text: `Weather in ${city}: sunny` };
  },
);

/** An SDK client sending `Authorization: Bearer <key>` (none: anonymous). */
const clientAs = (url: string, key?: string): Promise<Client> =>
  new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [
        new JsonRpcTransportFactory({
          fetchImpl: (input, init) => {
            const headers = new Headers(init?.headers);
            if (key) headers.set('authorization', `Bearer ${key}`);
            return fetch(input, { ...init, headers });
          },
        }),
      ],
    }),
  ).createFromUrl(url);

/** Every task the caller can see, newest first. */
const listAll = (client: Client) =>
  client.listTasks({
    tenant: '',
    contextId: '',
    status: TaskState.TASK_STATE_UNSPECIFIED,
    pageToken: '',
    statusTimestampAfter: undefined,
  });

void describe('A2A in the running server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-a2a-up-'));
  let runtime: Runtime;
  let server: ServerHandle;
  let principal: Principal;
  let tenantId: string;
  let adminKey: string;
  let otherKey: string;
  let ungrantedKey: string;
  const createIdentity = (agent: string) =>
    runtime.kernel.call<{ kid: string }>('identity.agents.create', { agent }, { principal });
  const catalog = async (): Promise<AiCatalog> =>
    (await (await fetch(`${server.url}/.well-known/ai-catalog.json`)).json()) as AiCatalog;

  before(async () => {
    const config = configSchema.parse({
      dataDir,
      a2a: { workflows: { forecaster: 'test.weather' } },
      network: { allowPrivate: true }, // a2a.call to this node's own loopback address
    });
    runtime = await openRuntime({ config, worker: true });
    runtime.engine.register(weather);
    const boot = await bootstrapDefaultTenant(runtime);
    tenantId = boot.tenantId;
    adminKey = z.string().parse(boot.adminKey);
    principal = await runtime.kernel.authenticate({ apiKey: adminKey });
    const keyWith = async (name: string, grants: { syscall: string; resource: string }[]) =>
      (await runtime.kernel.principals.createApiKey({ tenantId, name, grants })).key;
    otherKey = await keyWith('other caller', [{ syscall: 'a2a.message', resource: 'a2a/agents/*' }]);
    ungrantedKey = await keyWith('no a2a', [{ syscall: 'kernel.*', resource: '*' }]);
    for (const name of ['scout', 'late', 'keyless', 'forecaster'])
      await runtime.kernel.principals.createAgent({ tenantId, name });
    server = await startServer({ runtime, host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await server?.close();
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  void it('serves a card signed by the agent’s own key, verified against the JWKS, with PoP', async () => {
    const { kid } = await createIdentity('scout');
    const listed = await catalog();
    const cardUrl = `${server.url}/a2a/scout/.well-known/agent-card.json`;
    assert.deepEqual(
      listed.entries.map((e) => e.url),
      [cardUrl, `${server.url}/mcp/server-card`],
      'agents without an identity (keyless) are not exposed',
    );
    const verified = await verifyCard(cardUrl);
    assert.deepEqual([verified.card.name, verified.kid, verified.possession], ['scout', kid, true]);
    assert.equal(verified.card.supportedInterfaces[0]?.url, `${server.url}/a2a/scout`);
    // The SDK's own check, with the key taken from the server's identity JWKS.
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    const client = await clientAs(`${server.url}/a2a/scout/`, adminKey);
    const card = await client.getAgentCard(
      undefined,
      verifyAgentCardSignature((k) => Promise.resolve(jwks.keys.find((key) => key.kid === k) as JWK)),
    );
    assert.equal(card.name, 'scout');
  });

  void it('echoes a message through the SDK client as a durable run, and lists the task to its caller only', async () => {
    const client = await clientAs(`${server.url}/a2a/scout/`, adminKey);
    const task = await client.sendMessage(send('hello from the SDK'));
    assert.ok(!('messageId' in task), 'answers with a task');
    assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(task.artifacts[0]?.parts[0]?.content?.value, 'hello from the SDK');
    const listed = await listAll(client);
    assert.deepEqual(
      listed.tasks.map((t) => t.id),
      [task.id],
    );
    const runs = await runtime.engine.list(tenantId, { workflow: 'a2a.echo' });
    assert.deepEqual(
      runs.map((r) => [r.status, (r.input as { taskId: string }).taskId]),
      [['completed', task.id]],
      'the task ran as a durable run',
    );
    const row = await runtime.engine.store.get<{ principal: string }>(
      'SELECT principal FROM orch_runs WHERE id = ?',
      [runs[0]?.id ?? ''],
    );
    assert.equal((JSON.parse(row?.principal ?? '{}') as { id?: string }).id, principal.id, 'as its caller');
    const other = await clientAs(`${server.url}/a2a/scout/`, otherKey);
    assert.equal((await listAll(other)).tasks.length, 0, 'another caller sees none of it');
    await assert.rejects(other.getTask({ tenant: '', id: task.id, historyLength: undefined }));
  });

  void it('refuses callers without a key, with a bad key, or without a grant on a2a.message', async () => {
    for (const key of [undefined, 'sk_not_a_real_key', ungrantedKey]) {
      const client = await clientAs(`${server.url}/a2a/scout/`, key);
      await assert.rejects(client.sendMessage(send('let me in')), /401|authentication required/i);
    }
    const card = await verifyCard(`${server.url}/a2a/scout/.well-known/agent-card.json`);
    assert.equal(card.card.securitySchemes['strata']?.scheme?.$case, 'httpAuthSecurityScheme');
  });

  void it('a2a.call reaches an agent of this node with a bearer from the vault, and is refused without one', async () => {
    const call = (input: Record<string, unknown>) =>
      runtime.kernel.call<{ state: string; text: string }>(
        'a2a.call',
        { url: `${server.url}/a2a/scout`, ...input },
        { principal },
      );
    await runtime.kernel.call(
      'tools.vault.put',
      { name: 'scout-key', kind: 'bearer', secret: otherKey },
      { principal },
    );
    const answer = await call({ text: 'from a Strata agent', credential: 'scout-key', trust: 'possession' });
    assert.deepEqual([answer.state, answer.text], ['TASK_STATE_COMPLETED', 'from a Strata agent']);
    await assert.rejects(
      call({ text: 'no credential' }),
      (e: unknown) => isStrataError(e) && e.code === 'E_A2A_REMOTE',
    );
    const audit = JSON.stringify(await runtime.kernel.audit.list(tenantId, { limit: 50 }));
    assert.ok(!audit.includes(otherKey), 'the credential is in no audit entry');
  });

  void it('a run waiting in askCaller is a task in INPUT_REQUIRED; the caller’s reply resumes it', async () => {
    await createIdentity('forecaster');
    const client = await clientAs(`${server.url}/a2a/forecaster/`, adminKey);
    const asked = await client.sendMessage(send('weather, please'));
    assert.ok(!('messageId' in asked));
    assert.equal(asked.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    assert.equal(asked.status?.message?.parts[0]?.content?.value, 'Which city?');
    const [run] = await runtime.engine.list(tenantId, { workflow: 'test.weather' });
    assert.equal(run?.status, 'waiting', 'the run waits durably, holding no process');
    const answered = await client.sendMessage(send('Paris', asked.id));
    assert.ok(!('messageId' in answered));
    assert.equal(answered.id, asked.id, 'the same task continues');
    assert.equal(answered.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(answered.artifacts[0]?.parts[0]?.content?.value, 'Weather in Paris: sunny');

    // Cancelling a task that waits for input cancels its run too.
    const second = await client.sendMessage(send('weather again'));
    assert.ok(!('messageId' in second));
    assert.equal(second.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    const cancelled = await client.cancelTask({ tenant: '', id: second.id, metadata: undefined });
    assert.equal(cancelled.status?.state, TaskState.TASK_STATE_CANCELED);
    const runs = await runtime.engine.list(tenantId, { workflow: 'test.weather' });
    const secondRun = runs.find((r) => (r.input as { taskId: string }).taskId === second.id);
    assert.equal(secondRun?.status, 'cancelled', 'the waiting run is cancelled with its task');
  });

  void it('exposes an agent given an identity after start, without a restart', async () => {
    assert.equal((await fetch(`${server.url}/a2a/late/.well-known/agent-card.json`)).status, 404);
    const { kid } = await createIdentity('late');
    assert.deepEqual(
      (await catalog()).entries.map((e) => e.displayName),
      ['forecaster', 'late', 'scout', 'Strata MCP server'],
    );
    const verified = await verifyCard(`${server.url}/a2a/late/.well-known/agent-card.json`);
    assert.deepEqual([verified.card.name, verified.kid, verified.possession], ['late', kid, true]);
    const client = await clientAs(`${server.url}/a2a/late/`, adminKey);
    const task = await client.sendMessage(send('new here'));
    assert.ok(!('messageId' in task));
    assert.equal(task.artifacts[0]?.parts[0]?.content?.value, 'new here');
  });

  void it('re-signs a card with the new key after a rotation; the old kid stays verifiable', async () => {
    const before = await verifyCard(`${server.url}/a2a/late/.well-known/agent-card.json`);
    const rotated = await runtime.kernel.call<{ kid: string }>(
      'identity.agents.rotate',
      { agent: 'late' },
      { principal },
    );
    assert.notEqual(rotated.kid, before.kid);
    const after = await verifyCard(`${server.url}/a2a/late/.well-known/agent-card.json`);
    assert.deepEqual([after.kid, after.possession], [rotated.kid, true]);
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; status: string }[];
    };
    assert.equal(jwks.keys.find((k) => k.kid === before.kid)?.status, 'retired');
  });

  void it('refuses a request without A2A-Version with -32009, storing nothing', async () => {
    const res = await fetch(`${server.url}/a2a/scout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: send('0.3 client') }),
    });
    const body = (await res.json()) as { id: unknown; error?: { code: number } };
    assert.deepEqual([body.id, body.error?.code], [1, -32009]);

    const client = await clientAs(`${server.url}/a2a/scout/`, adminKey);
    const listed = await listAll(client);
    assert.equal(listed.totalSize, 1, 'only the echo task of the earlier test');
  });
});
