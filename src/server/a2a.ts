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
 * Callers authenticate like every API caller (`Authorization: Bearer <API key or capability
 * token>`, declared on the cards as an HTTP Bearer scheme): a principal of the published tenant
 * holding a grant on syscall `a2a.message`, resource `a2a/agents/<name>`. Tasks are scoped to the
 * principal that created them (another caller can neither read, list nor cancel them), and each
 * task is a durable run of the agent's workflow as that principal (see ./a2a-runs.ts).
 *
 * @example
 * const a2a = a2aEndpoint({ kernel, identities, tenantId, masterKey });
 * const app = createApp({ kernel, config, publicRoutes: [a2a.routes] });
 * // once listening:
 * a2a.listening('http://127.0.0.1:7070');
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { findGrant, type Kernel, type Logger } from '../kernel/index.ts';
import {
  a2aRoutes,
  A2aService,
  InProcessExecutor,
  type A2aAgentOptions,
  type AgentIdentities,
} from '../identity/index.ts';
import type { Engine } from '../orchestration/index.ts';
import { a2aEchoWorkflow, cancelA2aRun, durableA2aHandler, PrincipalUser } from './a2a-runs.ts';
import { credentialsOf, CAPABILITY_HEADER } from './auth.ts';

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
  /** Runs every task as a durable run (the engine must know the workflows named below). */
  readonly engine: Engine;
  /** Agent name → the workflow serving its tasks. @default `a2a.echo` for every agent */
  readonly workflows?: Readonly<Record<string, string>>;
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

/** The card's statement of how to call: an HTTP Bearer credential (a Strata key or token). */
const BEARER_SECURITY = {
  securitySchemes: {
    strata: {
      scheme: {
        $case: 'httpAuthSecurityScheme' as const,
        value: {
          description: 'A Strata API key or capability token granting a2a.message on a2a/agents/<name>',
          scheme: 'Bearer',
          bearerFormat: '',
        },
      },
    },
  },
  securityRequirements: [{ schemes: { strata: { list: [] } } }],
};

/** The agent an A2A request addresses, from its path (`/a2a/<name>[/…]`). */
const agentOfPath = (request: Request): string =>
  decodeURIComponent(new URL(request.url).pathname.split('/')[2] ?? '');

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

  /** The caller, if its credential is good, of this tenant, and granted this agent; else 401. */
  const authenticate = async (request: Request): Promise<PrincipalUser | null> => {
    try {
      const credentials = credentialsOf(
        request.headers.get('authorization') ?? undefined,
        request.headers.get(CAPABILITY_HEADER) ?? undefined,
      );
      const principal = await kernel.authenticate(credentials);
      const allowed =
        principal.tenantId === tenantId &&
        findGrant(principal.grants, {
          syscall: 'a2a.message',
          resource: `a2a/agents/${agentOfPath(request)}`,
          input: {},
        }) !== undefined;
      return allowed ? new PrincipalUser(principal) : null;
    } catch {
      return null;
    }
  };

  const build = async (key: string, base: string): Promise<Built> => {
    const names = new Map((await kernel.principals.listAgents(tenantId)).map((a) => [a.id, a.name]));
    const agents: A2aAgentOptions[] = [];
    for (const identity of await identities.list(tenantId)) {
      const name = names.get(identity.agentId);
      if (name === undefined) continue;
      const workflow = options.workflows?.[name] ?? a2aEchoWorkflow.name;
      let executor = executors.get(name);
      if (!executor) {
        executor = new InProcessExecutor(
          durableA2aHandler({ engine: options.engine, agent: name, workflow }),
        );
        executors.set(name, executor);
      }
      agents.push({
        card: {
          name,
          description:
            workflow === a2aEchoWorkflow.name
              ? `Strata agent ${name}. Echoes the text it is sent (no workflow is bound to it).`
              : `Strata agent ${name}, served by workflow ${workflow}.`,
          skills:
            workflow === a2aEchoWorkflow.name
              ? [{ id: 'echo', name: 'Echo', description: 'Answers with the text it was sent' }]
              : [{ id: workflow, name: workflow, description: `Runs workflow ${workflow} durably` }],
          ...BEARER_SECURITY,
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
      authenticate,
      onCancelled: (agent, taskId) => cancelA2aRun(options.engine, tenantId, agent, taskId),
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
