/**
 * @module identity/a2a/testing
 * Test support (not exported from the index): servers on 127.0.0.1 for the A2A tests and bench —
 * a Hono app behind @hono/node-server whose handler is set after the port is known (cards carry
 * their own URLs), a webhook that records push notifications, and an A2A server built only from
 * the official SDK (its request handler, JSON-RPC transport and card signing) as a remote peer.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import {
  A2A_PROTOCOL_VERSION,
  AgentCard,
  formatSSEEvent,
  generateAgentCardSignature,
  SSE_HEADERS,
  Role,
  TaskState,
  type AgentCard as AgentCardType,
  type Message,
} from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultRequestHandler,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  ServerCallContext,
  type AgentExecutor,
} from '@a2a-js/sdk/server';
import { exportJWK, generateKeyPair } from 'jose';
import type { Hono } from 'hono';
import type { Store } from '../../kernel/index.ts';
import { InProcessExecutor, type A2aHandler } from './executor.ts';
import { artifactOf, submittedTask, textPart } from './parts.ts';
import { a2aRoutes } from './routes.ts';
import { A2aService } from './service.ts';
import { cardSignerFromKey, type CardSigner } from './signer.ts';

export interface Listening {
  readonly url: string;
  close(): Promise<void>;
}

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const closer = (server: Server) => (): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** Listens first, then serves whatever app `mount(url)` returns. */
export async function serveHono(mount: (url: string) => Promise<Hono> | Hono): Promise<Listening> {
  const mounted: { app?: Hono } = {};
  const server = createAdaptorServer({
    fetch: (req: Request) =>
      mounted.app ? mounted.app.fetch(req) : new Response('starting', { status: 503 }),
  }) as Server;
  const url = await listen(server);
  mounted.app = await mount(url);
  return { url, close: closer(server) };
}

/**
 * Strata's routes serving one agent named `echo` whose turns `handler` answers, on `store`.
 * @default handler answers every message COMPLETED with "sdk says: <text>", like the SDK sample
 */
export async function serveEchoAgent(
  store: Store,
  handler: A2aHandler = (t) => Promise.resolve({ state: 'completed', text: `sdk says: ${t.text}` }),
): Promise<Listening & { service: A2aService }> {
  const signer = await testSigner();
  const opened: { service?: A2aService } = {};
  const listening = await serveHono(async (url) => {
    opened.service = await A2aService.open({
      store,
      masterKey: randomBytes(32),
      baseUrl: url,
      agents: [
        {
          card: { name: 'echo', description: 'echo', skills: [] },
          signer,
          executor: new InProcessExecutor(handler),
        },
      ],
    });
    return a2aRoutes(opened.service);
  });
  return { ...listening, service: opened.service as A2aService };
}

/** A user message with one text part, as a client sends it. */
export const userMessage = (text: string, extra: Partial<Message> = {}): Message => ({
  messageId: randomUUID(),
  contextId: '',
  taskId: '',
  role: Role.ROLE_USER,
  parts: [
    { content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined },
  ],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
  ...extra,
});

/** A fresh Ed25519 card signer, made with jose as a caller would. */
export async function testSigner(kid = `k-${randomUUID().slice(0, 8)}`): Promise<CardSigner> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return cardSignerFromKey({ kid, privateKey });
}

export interface Webhook extends Listening {
  readonly received: { headers: IncomingHttpHeaders; body: Record<string, unknown> }[];
  /** Resolves with the first request matching `predicate` (already received or yet to come). */
  waitFor(
    predicate: (body: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Answer the next `n` requests with this status (then 200). */
  failNext(n: number, status: number): void;
}

/** A loopback webhook that records push notifications. */
export async function webhook(): Promise<Webhook> {
  const received: Webhook['received'] = [];
  const waiters: {
    predicate: (b: Record<string, unknown>) => boolean;
    resolve: (b: Record<string, unknown>) => void;
  }[] = [];
  let failures = { n: 0, status: 200 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failures.n > 0) {
        failures = { ...failures, n: failures.n - 1 };
        res.writeHead(failures.status).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      received.push({ headers: req.headers, body });
      for (const w of waiters.filter((x) => x.predicate(body))) w.resolve(body);
      res.writeHead(200).end();
    });
  });
  const url = await listen(server);
  return {
    url,
    received,
    close: closer(server),
    failNext: (n, status) => {
      failures = { n, status };
    },
    waitFor: (predicate, timeoutMs = 5000) => {
      const seen = received.find((r) => predicate(r.body));
      if (seen) return Promise.resolve(seen.body);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching push notification')), timeoutMs);
        waiters.push({ predicate, resolve: (b) => (clearTimeout(timer), resolve(b)) });
      });
    },
  };
}

/** The SDK sample agent's shape: one task, an artifact, COMPLETED, answering "sdk says: <text>". */
const sdkEchoExecutor: AgentExecutor = {
  execute: (ctx, bus) => {
    const { taskId, contextId } = ctx;
    const text = ctx.userMessage.parts
      .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
      .join('');
    const status = (state: TaskState) => ({ state, message: undefined, timestamp: new Date().toISOString() });
    const timestamp = new Date().toISOString();
    bus.publish(
      AgentEvent.task(submittedTask({ id: taskId, contextId, message: ctx.userMessage, timestamp })),
    );
    bus.publish(
      AgentEvent.artifactUpdate({
        taskId,
        contextId,
        artifact: artifactOf('answer', [textPart(`sdk says: ${text}`)]),
        append: false,
        lastChunk: true,
        metadata: undefined,
      }),
    );
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: status(TaskState.TASK_STATE_COMPLETED),
        metadata: undefined,
      }),
    );
    bus.finished();
    return Promise.resolve();
  },
  cancelTask: () => Promise.resolve(),
};

/**
 * An A2A 1.0 server made of the official SDK's parts only (DefaultRequestHandler, InMemoryTaskStore,
 * JsonRpcTransportHandler, generateAgentCardSignature), glued to node:http as its Express adapter
 * would be. Its card is signed with a jose key published at `/jwks.json`; it has no PoP endpoint.
 */
export async function sdkServer(): Promise<Listening & { card: AgentCardType }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'sdk-key', alg: 'EdDSA' };
  const state: { card?: AgentCardType; transport?: JsonRpcTransportHandler } = {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (req.method === 'GET' && req.url === '/.well-known/agent-card.json') {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify(AgentCard.toJSON(state.card as AgentCardType)));
          return;
        }
        if (req.method === 'GET' && req.url === '/jwks.json') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
          return;
        }
        const context = new ServerCallContext({
          requestedVersion: String(req.headers['a2a-version'] ?? '0.3'),
        });
        const out = await (state.transport as JsonRpcTransportHandler).handle(
          Buffer.concat(chunks).toString('utf8'),
          context,
        );
        if (Symbol.asyncIterator in out) {
          res.writeHead(200, SSE_HEADERS);
          for await (const event of out) res.write(formatSSEEvent(event));
          res.end();
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
        }
      })();
    });
  });
  const url = await listen(server);
  const unsigned: AgentCardType = AgentCard.fromJSON({
    name: 'sdk-echo',
    description: 'An echo agent built with @a2a-js/sdk',
    version: '1.0.0',
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', protocolVersion: A2A_PROTOCOL_VERSION }],
    capabilities: { streaming: true },
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [{ id: 'echo', name: 'echo', description: 'echoes', tags: ['echo'] }],
  });
  const card = await generateAgentCardSignature(privateKey, {
    alg: 'EdDSA',
    kid: 'sdk-key',
    typ: 'JOSE',
    jku: `${url}/jwks.json`,
  })(unsigned);
  state.card = card;
  state.transport = new JsonRpcTransportHandler(
    new DefaultRequestHandler(card, new InMemoryTaskStore(), sdkEchoExecutor),
  );
  return { url, card, close: closer(server) };
}
