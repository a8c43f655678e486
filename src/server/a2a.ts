/**
 * @module server/a2a
 * A2A 1.0 for the published tenant's agents in `strata up`: every agent with an identity is
 * exposed at `/a2a/<name>`, its card signed by the agent's own Ed25519 key (the `AgentSigner` of
 * the identity layer is already shaped like A2A's `CardSigner`) with `kid`/`jku` pointing at the
 * server's `/.well-known/jwks.json`, and listed in `/.well-known/ai-catalog.json` next to the MCP
 * server card.
 *
 * The agents are re-read on every A2A request (one query over the tenant's keys): when the set of
 * keys changed — an agent was created or rotated its key — the service is rebuilt, so new
 * agents appear without a restart. Tasks live in the store, so a rebuild loses none.
 *
 * Executor: until an agent binds a workflow, each agent echoes the text it is sent, in process.
 * Making every task a durable run on the orchestration engine is not done yet.
 *
 * @example
 * const a2a = a2aEndpoint({ kernel, identities, tenantId, masterKey });
 * const app = createApp({ kernel, config, publicRoutes: [a2a.routes] });
 * // once listening:
 * a2a.listening('http://127.0.0.1:7070');
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Kernel, Logger } from '../kernel/index.ts';
import {
  a2aRoutes,
  A2aService,
  InProcessExecutor,
  type A2aAgentOptions,
  type AgentIdentities,
} from '../identity/index.ts';

export interface A2aEndpointOptions {
  readonly kernel: Kernel;
  readonly identities: AgentIdentities;
  /** The tenant whose agents are exposed (the one whose JWKS the server publishes). */
  readonly tenantId: string;
  /** Seals push-notification tokens at rest. */
  readonly masterKey: Buffer;
  /** @default config.server.bodyLimitBytes of the caller, else the A2A routes' 1 MiB */
  readonly bodyLimitBytes?: number;
  readonly logger?: Logger;
  /** Push notifications may go to loopback and private addresses (`network.allowPrivate`). */
  readonly allowPrivate?: boolean;
}

export interface A2aEndpoint {
  /** Public routes: `/a2a/*`, `/.well-known/agent-card.json`, `/.well-known/ai-catalog.json`. */
  readonly routes: Hono;
  /** Sets the public base URL the cards carry (no trailing slash); requests before it get 503. */
  listening(baseUrl: string): void;
  /** Waits for queued push notifications of every service built so far. */
  close(): Promise<void>;
}

interface Built {
  readonly key: string;
  readonly service: A2aService;
  readonly routes: Hono;
}

/** The echo every exposed agent runs until it binds a workflow. */
const echoExecutor = (): InProcessExecutor =>
  new InProcessExecutor((turn) => Promise.resolve({ state: 'completed', text: turn.text }));

export function a2aEndpoint(options: A2aEndpointOptions): A2aEndpoint {
  const { kernel, identities, tenantId } = options;
  const logger = (options.logger ?? kernel.logger).child({ component: 'a2a' });
  // One executor per agent across rebuilds: it tracks running tasks, which a cancel must reach.
  const executors = new Map<string, InProcessExecutor>();
  // Services still delivering push notifications: the current one, and replaced ones until drained.
  const services = new Set<A2aService>();
  let baseUrl: string | undefined;
  let current: { key: string; built: Promise<Built> } | undefined;

  /** Every kid of the tenant's agents: creating an agent or rotating a key adds one. */
  const keyNow = async (): Promise<string> => {
    const { keys } = await identities.jwks(tenantId);
    return keys
      .map((k) => k.kid)
      .sort()
      .join(' ');
  };

  const build = async (key: string, base: string): Promise<Built> => {
    const names = new Map((await kernel.principals.listAgents(tenantId)).map((a) => [a.id, a.name]));
    const agents: A2aAgentOptions[] = [];
    for (const identity of await identities.list(tenantId)) {
      const name = names.get(identity.agentId);
      if (name === undefined) continue;
      let executor = executors.get(name);
      if (!executor) executors.set(name, (executor = echoExecutor()));
      agents.push({
        card: {
          name,
          description: `Strata agent ${name}. Echoes the text it is sent until it binds a workflow.`,
          skills: [{ id: 'echo', name: 'Echo', description: 'Answers with the text it was sent' }],
        },
        signer: await identities.signer(tenantId, identity.agentId),
        executor,
      });
    }
    agents.sort((a, b) => a.card.name.localeCompare(b.card.name));
    const service = await A2aService.open({
      store: kernel.store,
      masterKey: options.masterKey,
      baseUrl: base,
      agents,
      jwksUrl: `${base}/.well-known/jwks.json`,
      mcpServerCardUrl: `${base}/mcp/server-card`,
      clock: kernel.clock,
      logger,
      allowPrivate: options.allowPrivate ?? false,
    });
    services.add(service);
    logger.debug({ agents: agents.map((a) => a.card.name) }, 'A2A agents exposed');
    return { key, service, routes: a2aRoutes(service, { bodyLimitBytes: options.bodyLimitBytes }) };
  };

  /** The service for the agents as they are now; concurrent requests share one rebuild. */
  const serviceNow = async (base: string): Promise<Built> => {
    const key = await keyNow();
    if (current?.key === key) return current.built;
    const previous = current?.built;
    const entry = { key, built: build(key, base) };
    current = entry;
    // A failed build is retried by the next request rather than remembered.
    void entry.built.catch(() => {
      if (current === entry) current = undefined;
    });
    void previous?.then(
      async ({ service }) => {
        await service.drain();
        services.delete(service);
      },
      () => undefined,
    );
    return entry.built;
  };

  const forward = async (c: Context): Promise<Response> => {
    if (baseUrl === undefined) return c.json({ error: { code: 'E_UNAVAILABLE', message: 'starting' } }, 503);
    return (await serviceNow(baseUrl)).routes.fetch(c.req.raw);
  };
  const routes = new Hono();
  routes.all('/a2a/*', forward);
  routes.get('/.well-known/agent-card.json', forward);
  routes.get('/.well-known/ai-catalog.json', forward);

  return {
    routes,
    listening: (url) => {
      baseUrl = url.replace(/\/+$/, '');
    },
    close: async () => {
      await Promise.all([...services].map((s) => s.drain()));
    },
  };
}
