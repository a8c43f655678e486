/**
 * @module identity/a2a/service
 * The exposed A2A agents of one Strata node: for each, its signed card and an SDK
 * `DefaultRequestHandler` wired to Strata's store (tasks, push configs) and to the safe push sender.
 * `routes.ts` puts these behind Hono; nothing here knows about HTTP.
 */
import type { AgentCard } from '@a2a-js/sdk';
import { DefaultRequestHandler, type User } from '@a2a-js/sdk/server';
import { silentLogger, systemClock, type Clock, type Logger, type Store } from '../../kernel/index.ts';
import { agentCardUrl, buildAgentCard, signAgentCard, type A2aCardSpec } from './card.ts';
import type { A2aExecutor } from './executor.ts';
import { A2A_LAYER, a2aMigrations } from './migrations.ts';
import { SafePushSender, StorePushStore, type PushDelivery } from './push.ts';
import type { CardSigner } from './signer.ts';
import { StoreTaskStore } from './task-store.ts';

/** One agent to expose: what its card says, the key that signs it, what runs its tasks. */
export interface A2aAgentOptions {
  readonly card: A2aCardSpec;
  readonly signer: CardSigner;
  readonly executor: A2aExecutor;
}

export interface A2aServiceOptions {
  readonly store: Store;
  /** Seals push notification tokens at rest. */
  readonly masterKey: Buffer;
  /** Public origin (and path prefix) the routes are mounted under, without a trailing slash. */
  readonly baseUrl: string;
  readonly agents: readonly A2aAgentOptions[];
  /** The agent served at the host-wide `/.well-known/agent-card.json`. @default the first agent */
  readonly defaultAgent?: string;
  /** Where the card keys are published; Strata's identity JWKS when wired. @default `<baseUrl>/a2a/jwks.json` */
  readonly jwksUrl?: string;
  /** Strata's MCP server card, listed in the AI catalog. */
  readonly mcpServerCardUrl?: string;
  /**
   * Authenticates a request; `null` refuses it with 401. The user's name scopes tasks and push
   * configs. @default everyone is one unauthenticated caller
   */
  readonly authenticate?: (request: Request) => Promise<User | null>;
  /** Told when a caller cancelled a task (after it is CANCELED), e.g. to cancel its durable run. */
  readonly onCancelled?: (agent: string, taskId: string) => Promise<void>;
  /** Allow push notifications toward private/loopback addresses: tests only. @default false */
  readonly allowPrivate?: boolean;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Push sender tuning (attempts, delays) and a delivery hook. */
  readonly push?: { attempts?: number; baseDelayMs?: number; onDelivery?: (d: PushDelivery) => void };
}

/** One exposed agent, ready to serve. */
export interface A2aExposedAgent {
  readonly name: string;
  readonly card: AgentCard;
  readonly cardUrl: string;
  readonly signer: CardSigner;
  readonly handler: DefaultRequestHandler;
  /** The handler's task store: flushed before a response reports a task (see task-store.ts). */
  readonly tasks: StoreTaskStore;
}

export class A2aService {
  readonly agents: ReadonlyMap<string, A2aExposedAgent>;
  readonly defaultAgent: string;
  readonly jwksUrl: string;
  readonly options: A2aServiceOptions;
  readonly #senders: readonly SafePushSender[];

  private constructor(
    options: A2aServiceOptions,
    parts: { agents: Map<string, A2aExposedAgent>; senders: SafePushSender[]; jwksUrl: string },
  ) {
    this.options = options;
    this.agents = parts.agents;
    this.#senders = parts.senders;
    this.jwksUrl = parts.jwksUrl;
    this.defaultAgent = options.defaultAgent ?? options.agents[0]?.card.name ?? '';
  }

  /** Migrates the `a2a` layer, signs every card and builds one request handler per agent. */
  static async open(options: A2aServiceOptions): Promise<A2aService> {
    await options.store.migrate(A2A_LAYER, a2aMigrations);
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger();
    const jwksUrl = options.jwksUrl ?? `${options.baseUrl}/a2a/jwks.json`;
    const agents = new Map<string, A2aExposedAgent>();
    const senders: SafePushSender[] = [];
    for (const agent of options.agents) {
      const name = agent.card.name;
      if (agents.has(name)) throw new TypeError(`two A2A agents are named "${name}"`);
      const card = await signAgentCard(buildAgentCard(agent.card, options), {
        signer: agent.signer,
        jku: jwksUrl,
      });
      const common = { store: options.store, agent: name, clock };
      const pushStore = new StorePushStore({
        ...common,
        masterKey: options.masterKey,
        allowPrivate: options.allowPrivate ?? false,
      });
      const sender = new SafePushSender({
        store: pushStore,
        allowPrivate: options.allowPrivate ?? false,
        logger,
        ...options.push,
      });
      senders.push(sender);
      const tasks = new StoreTaskStore(common);
      const handler = new DefaultRequestHandler(
        card,
        tasks,
        agent.executor,
        undefined,
        pushStore,
        sender,
        card,
      );
      agents.set(name, {
        name,
        card,
        cardUrl: agentCardUrl(options.baseUrl, name),
        signer: agent.signer,
        handler,
        tasks,
      });
    }
    return new A2aService(options, { agents, senders, jwksUrl });
  }

  /** The public keys of every card, as a JWKS. */
  jwks(): { keys: unknown[] } {
    const byKid = new Map<string, unknown>();
    for (const a of this.agents.values()) byKid.set(a.signer.kid, a.signer.publicJwk);
    return { keys: [...byKid.values()] };
  }

  /** Writes held task saves and waits for queued push notifications (for shutdown and tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.tasks.flush()));
    await Promise.all(this.#senders.map((s) => s.drain()));
  }
}
