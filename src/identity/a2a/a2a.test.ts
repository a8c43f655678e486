import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { TaskState, verifyAgentCardSignature, type Message } from '@a2a-js/sdk';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import type { JWK } from 'jose';
import type { Store } from '../../kernel/index.ts';
import { onEveryStore, withCode } from '../../testkit/stores.ts';
import { InProcessExecutor, type A2aHandler } from './executor.ts';
import type { PushDelivery } from './push.ts';
import { a2aRoutes } from './routes.ts';
import { A2aService } from './service.ts';
import { serveHono, testSigner, userMessage, webhook, type Listening, type Webhook } from './testing.ts';
import { verifyCard } from './verify-card.ts';

const echo: A2aHandler = async (turn) => {
  if (turn.text.startsWith('slow')) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      turn.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()));
    });
  }
  if (turn.text === 'ask') return { state: 'input-required', text: 'which one?' };
  return { state: 'completed', text: `echo: ${turn.text}` };
};

const send = (text: string, extra: Partial<Message> = {}) => ({
  tenant: '',
  message: userMessage(text, extra),
  configuration: undefined,
  metadata: undefined,
});

onEveryStore('A2A 1.0 with the official SDK client', (db) => {
  const masterKey = randomBytes(32);
  let store: Store;
  let server: Listening;
  let service: A2aService;
  let hook: Webhook;
  let client: Client;
  const deliveries: PushDelivery[] = [];

  const open = async (url: string): Promise<A2aService> =>
    A2aService.open({
      store,
      masterKey,
      baseUrl: url,
      agents: [
        {
          card: {
            name: 'echo',
            description: 'Echoes text',
            skills: [{ id: 'echo', name: 'Echo', description: 'echoes', tags: ['text'] }],
          },
          signer,
          executor: new InProcessExecutor(echo),
        },
      ],
      allowPrivate: true,
      mcpServerCardUrl: `${url}/mcp/server-card`,
      push: { baseDelayMs: 10, onDelivery: (d) => deliveries.push(d) },
    });
  let signer: Awaited<ReturnType<typeof testSigner>>;

  before(async () => {
    signer = await testSigner();
    store = await db().open();
    hook = await webhook();
    server = await serveHono(async (url) => {
      service = await open(url);
      return a2aRoutes(service);
    });
    client = await new ClientFactory().createFromUrl(`${server.url}/a2a/echo/`);
  });
  after(async () => {
    await service.drain();
    await server.close();
    await hook.close();
    await store.close();
  });

  it('serves a card the SDK verifies against the JWKS, and the server proves it holds the key', async () => {
    const jwks = (await (await fetch(`${server.url}/a2a/jwks.json`)).json()) as { keys: JWK[] };
    const card = await client.getAgentCard(
      undefined,
      verifyAgentCardSignature((kid) => Promise.resolve(jwks.keys.find((k) => k.kid === kid) as JWK)),
    );
    assert.equal(card.name, 'echo');
    assert.equal(card.supportedInterfaces[0]?.protocolVersion, '1.0');
    assert.equal(card.supportedInterfaces[0]?.url, `${server.url}/a2a/echo`);
    const verified = await verifyCard(`${server.url}/a2a/echo/.well-known/agent-card.json`);
    assert.deepEqual([verified.kid, verified.possession], [signer.kid, true]);
    const root = await fetch(`${server.url}/.well-known/agent-card.json`);
    const etag = root.headers.get('etag') ?? '';
    assert.equal(((await root.json()) as { name: string }).name, 'echo');
    assert.equal(
      (await fetch(`${server.url}/.well-known/agent-card.json`, { headers: { 'if-none-match': etag } }))
        .status,
      304,
    );
  });

  it('sends a message: the task completes with the answer as an artifact', async () => {
    const task = await client.sendMessage(send('hi'));
    assert.ok(!('messageId' in task));
    assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(task.artifacts[0]?.parts[0]?.content?.value, 'echo: hi');
  });

  it('streams SUBMITTED → WORKING → COMPLETED over SSE', async () => {
    const states: TaskState[] = [];
    for await (const event of client.sendMessageStream(send('stream me'))) {
      const p = event.payload;
      if (p?.$case === 'task') states.push(p.value.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED);
      if (p?.$case === 'statusUpdate') states.push(p.value.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED);
    }
    assert.deepEqual(states, [
      TaskState.TASK_STATE_SUBMITTED,
      TaskState.TASK_STATE_WORKING,
      TaskState.TASK_STATE_COMPLETED,
    ]);
  });

  it('cancels a running task; cancelling a finished one is TaskNotCancelable (-32002)', async () => {
    const running = await client.sendMessage({
      ...send('slow job'),
      configuration: {
        acceptedOutputModes: [],
        taskPushNotificationConfig: undefined,
        returnImmediately: true,
      },
    });
    assert.ok(!('messageId' in running));
    const canceled = await client.cancelTask({ tenant: '', id: running.id, metadata: undefined });
    assert.equal(canceled.status?.state, TaskState.TASK_STATE_CANCELED);
    assert.equal(
      (await client.getTask({ tenant: '', id: running.id })).status?.state,
      TaskState.TASK_STATE_CANCELED,
    );
    const done = await client.sendMessage(send('quick'));
    assert.ok(!('messageId' in done));
    await assert.rejects(
      client.cancelTask({ tenant: '', id: done.id, metadata: undefined }),
      (e: { envelopeCode?: number }) => e.envelopeCode === -32002,
    );
    assert.equal(
      (await client.getTask({ tenant: '', id: done.id })).status?.state,
      TaskState.TASK_STATE_COMPLETED,
    );
  });

  it('keeps a task open on INPUT_REQUIRED and continues it with the reply', async () => {
    const asked = await client.sendMessage(send('ask'));
    assert.ok(!('messageId' in asked));
    assert.equal(asked.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    const answered = await client.sendMessage(
      send('the blue one', { taskId: asked.id, contextId: asked.contextId }),
    );
    assert.ok(!('messageId' in answered));
    assert.equal(answered.id, asked.id);
    assert.equal(answered.status?.state, TaskState.TASK_STATE_COMPLETED);
  });

  it('lists tasks newest first, paged, filtered by state', async () => {
    const all = await client.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
    assert.ok(all.totalSize >= 5, `total ${all.totalSize}`);
    const first = await client.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 2,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
    assert.equal(first.tasks.length, 2);
    const second = await client.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 2,
      pageToken: first.nextPageToken,
      statusTimestampAfter: undefined,
    });
    assert.equal(second.tasks.length, 2);
    assert.equal(new Set([...first.tasks, ...second.tasks].map((t) => t.id)).size, 4);
    const canceled = await client.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_CANCELED,
      pageToken: '',
      statusTimestampAfter: undefined,
    });
    assert.equal(canceled.tasks.length, 1);
  });

  it('delivers push notifications with the token to a loopback webhook, retrying a 503', async () => {
    hook.failNext(1, 503);
    const task = await client.sendMessage({
      ...send('notify me'),
      configuration: {
        acceptedOutputModes: [],
        returnImmediately: false,
        taskPushNotificationConfig: {
          tenant: '',
          id: '',
          taskId: '',
          url: `${hook.url}/hook`,
          token: 'push-secret',
          authentication: undefined,
        },
      },
    });
    assert.ok(!('messageId' in task));
    const completed = await hook.waitFor((b) => JSON.stringify(b).includes('TASK_STATE_COMPLETED'));
    assert.ok(JSON.stringify(completed).includes(task.id));
    assert.ok(hook.received.every((r) => r.headers['x-a2a-notification-token'] === 'push-secret'));
    await service.drain();
    assert.ok(
      deliveries.some((d) => d.ok && d.attempts === 2),
      JSON.stringify(deliveries),
    );
    const configs = await client.listTaskPushNotificationConfig({
      tenant: '',
      taskId: task.id,
      pageSize: 10,
      pageToken: '',
    });
    assert.equal(configs.configs[0]?.url, `${hook.url}/hook`);
    const row = await store.get<{ secret_sealed: string }>(
      'SELECT secret_sealed FROM a2a_push_configs WHERE task_id = ?',
      [task.id],
    );
    assert.ok(row && !row.secret_sealed.includes('push-secret'), 'the token is sealed at rest');
  });

  it('keeps tasks across a restart: a new store and service answer GetTask and ListTasks', async () => {
    const task = await client.sendMessage(send('remember me'));
    assert.ok(!('messageId' in task));
    await service.drain();
    await store.close();
    store = await db().open();
    service = await open(server.url);
    const restarted = await new ClientFactory().createFromUrl(`${server.url}/a2a/echo/`);
    // serveHono's app is fixed: remount by pointing a fresh server at the reopened service.
    const again = await serveHono(() => a2aRoutes(service));
    try {
      const c2 = await new ClientFactory().createFromAgentCard({
        ...(await restarted.getAgentCard()),
        supportedInterfaces: [
          { url: `${again.url}/a2a/echo`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
        ],
      });
      const loaded = await c2.getTask({ tenant: '', id: task.id });
      assert.equal(loaded.status?.state, TaskState.TASK_STATE_COMPLETED);
      assert.equal(loaded.artifacts[0]?.parts[0]?.content?.value, 'echo: remember me');
    } finally {
      await again.close();
    }
    await assert.rejects(
      verifyCard(`${server.url}/a2a/nobody/.well-known/agent-card.json`),
      withCode('E_A2A_CARD_INVALID'),
    );
  });
});
