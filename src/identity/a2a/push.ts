/**
 * @module identity/a2a/push
 * Push notifications (A2A §4.3): the configs a client registers for a task, kept in the store with
 * their token/credentials sealed, and the sender that POSTs each task event to them.
 *
 * Safety rules, because the URL is caller-chosen: only http(s); never toward private, loopback or
 * link-local addresses unless `allowPrivate` (tests) — checked when the config is saved and again
 * inside the connection's DNS lookup (see `net-guard.ts`); bounded time per attempt; retried with
 * exponential backoff on network errors, 429 and 5xx only. Events of one task are delivered in order.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { StreamResponse, Task, TaskPushNotificationConfig } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import {
  V1PushNotificationSerializer,
  type PushNotificationSender,
  type PushNotificationStore,
  type ServerCallContext,
} from '@a2a-js/sdk/server';
import { isStrataError } from '../../kernel/errors.ts';
import { openSealed, seal, type Clock, type Logger, type Store } from '../../kernel/index.ts';
import { assertOutboundUrl, guardedLookup } from '../net-guard.ts';
import { scopeOf } from './task-store.ts';

interface Secret {
  readonly token: string;
  readonly authentication: { scheme: string; credentials: string } | null;
}

/** One agent's push configs in `a2a_push_configs`; secrets sealed with the master key. */
export class StorePushStore implements PushNotificationStore {
  readonly #o: { store: Store; agent: string; clock: Clock; masterKey: Buffer; allowPrivate: boolean };

  constructor(options: {
    store: Store;
    agent: string;
    clock: Clock;
    masterKey: Buffer;
    allowPrivate: boolean;
  }) {
    this.#o = options;
  }

  async save(taskId: string, context: ServerCallContext, config: TaskPushNotificationConfig): Promise<void> {
    try {
      assertOutboundUrl(config.url, { allowPrivate: this.#o.allowPrivate });
    } catch (error) {
      if (!isStrataError(error)) throw error;
      // A2A has no dedicated code for this: it is invalid params (-32602) with our code attached.
      throw new RequestMalformedError({ message: error.message, metadata: { strataCode: error.code } });
    }
    if (!config.id) config.id = randomUUID();
    const s = scopeOf(this.#o.agent, context);
    const secret: Secret = { token: config.token, authentication: config.authentication ?? null };
    const sealed = seal(
      this.#o.masterKey,
      Buffer.from(JSON.stringify(secret)),
      aad(s.agent, taskId, config.id),
    );
    await this.#o.store.run(
      `INSERT INTO a2a_push_configs (agent, tenant, owner, task_id, id, url, secret_sealed, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent, tenant, owner, task_id, id) DO UPDATE SET
         url = excluded.url, secret_sealed = excluded.secret_sealed`,
      [s.agent, s.tenant, s.owner, taskId, config.id, config.url, sealed, this.#o.clock.now()],
    );
  }

  async load(taskId: string, context: ServerCallContext): Promise<TaskPushNotificationConfig[]> {
    const s = scopeOf(this.#o.agent, context);
    // Loaded for every task event, almost always empty: sorted here, because ORDER BY created_at
    // makes SQLite build a temporary B-tree even for no rows (3× the cost of the lookup).
    const rows = await this.#o.store.all<{
      id: string;
      url: string;
      secret_sealed: string;
      created_at: number | string;
    }>(
      `SELECT id, url, secret_sealed, created_at FROM a2a_push_configs
       WHERE agent = ? AND tenant = ? AND owner = ? AND task_id = ?`,
      [s.agent, s.tenant, s.owner, taskId],
    );
    rows.sort(
      (a, b) => Number(a.created_at) - Number(b.created_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    return rows.map((r) => {
      const secret = JSON.parse(
        openSealed(this.#o.masterKey, r.secret_sealed, aad(s.agent, taskId, r.id)).toString('utf8'),
      ) as Secret;
      return {
        tenant: s.tenant,
        id: r.id,
        taskId,
        url: r.url,
        token: secret.token,
        authentication: secret.authentication ?? undefined,
      };
    });
  }

  async delete(taskId: string, context: ServerCallContext, configId?: string): Promise<void> {
    const s = scopeOf(this.#o.agent, context);
    await this.#o.store.run(
      'DELETE FROM a2a_push_configs WHERE agent = ? AND tenant = ? AND owner = ? AND task_id = ? AND id = ?',
      [s.agent, s.tenant, s.owner, taskId, configId ?? taskId],
    );
  }
}

const aad = (agent: string, taskId: string, id: string): string =>
  `a2a_push_configs:${agent}:${taskId}:${id}`;

/** What happened to one push delivery, for logs and tests. */
export interface PushDelivery {
  readonly url: string;
  readonly taskId: string;
  readonly attempts: number;
  readonly status: number | null;
  readonly ok: boolean;
  readonly error?: string;
}

export interface PushSenderOptions {
  readonly store: PushNotificationStore;
  readonly allowPrivate: boolean;
  readonly logger: Logger;
  /** @default 4 */
  readonly attempts?: number;
  /** First retry delay; each later one is 4× longer, capped at 10 s. @default 250 */
  readonly baseDelayMs?: number;
  /** @default 5000 */
  readonly timeoutMs?: number;
  readonly onDelivery?: (delivery: PushDelivery) => void;
}

const taskIdOf = (event: StreamResponse): string => {
  const p = event.payload;
  if (!p) return '';
  return p.$case === 'task' ? p.value.id : p.value.taskId;
};

/** One task event to deliver, with the task as it stood after the event. */
interface QueuedEvent {
  readonly event: StreamResponse;
  readonly context: ServerCallContext;
  readonly task?: Task;
}

/**
 * Sends every task event to the task's push configs; never throws into the request path. The
 * events of one task published in the same turn (an echo publishes four) are delivered as one batch
 * on the next turn, after the response has been written: one config lookup for the batch, and no
 * serialisation at all when the task has no config, which is almost always.
 */
export class SafePushSender implements PushNotificationSender {
  readonly #o: PushSenderOptions;
  /** Per task, the delivery chain: batches run one after the other, in order. */
  readonly #chains = new Map<string, Promise<void>>();
  /** Per task, the batch still open to new events (not started yet). */
  readonly #open = new Map<string, QueuedEvent[]>();
  readonly #serializer = new V1PushNotificationSerializer();

  constructor(options: PushSenderOptions) {
    this.#o = options;
  }

  send(event: StreamResponse, context: ServerCallContext, task?: Task): Promise<void> {
    const taskId = taskIdOf(event);
    if (!taskId) return Promise.resolve();
    const open = this.#open.get(taskId);
    const chained = this.#chains.get(taskId);
    if (open && chained) {
      open.push({ event, context, task });
      return chained;
    }
    const batch: QueuedEvent[] = [{ event, context, task }];
    this.#open.set(taskId, batch);
    const next = (chained ?? Promise.resolve()).then(nextTurn).then(() => {
      if (this.#open.get(taskId) === batch) this.#open.delete(taskId);
      return this.#deliverBatch(taskId, batch);
    });
    this.#chains.set(taskId, next);
    return next.finally(() => {
      if (this.#chains.get(taskId) === next) this.#chains.delete(taskId);
    });
  }

  /** Resolves when every queued delivery has finished (for shutdown and tests). */
  async drain(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all([...this.#chains.values()]);
  }

  async #deliverBatch(taskId: string, batch: readonly QueuedEvent[]): Promise<void> {
    // One lookup per scope in the batch (a task id is only unique within its tenant and owner).
    const lookups = new Map<string, Promise<TaskPushNotificationConfig[]>>();
    for (const item of batch) {
      const s = scopeOf('', item.context);
      const key = `${s.tenant}\n${s.owner}`;
      let configs = lookups.get(key);
      if (!configs) {
        configs = this.#o.store.load(taskId, item.context).catch(() => []);
        lookups.set(key, configs);
      }
      const targets = await configs;
      if (targets.length === 0) continue;
      const { body, contentType } = this.#serializer.serialize(item.event, item.task);
      await Promise.all(targets.map((config) => this.#deliver({ config, body, contentType, taskId })));
    }
  }

  async #deliver(args: {
    config: TaskPushNotificationConfig;
    body: string;
    contentType: string;
    taskId: string;
  }) {
    const attempts = this.#o.attempts ?? 4;
    const headers: Record<string, string> = { 'content-type': args.contentType };
    const auth = args.config.authentication;
    if (auth?.scheme) headers['authorization'] = `${auth.scheme} ${auth.credentials}`;
    else if (args.config.token) headers['x-a2a-notification-token'] = args.config.token;
    let status: number | null = null;
    let error: string | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        status = await this.#post({ url: args.config.url, headers, body: args.body });
        error = undefined;
        if (status < 300 || (status < 500 && status !== 429)) {
          return this.#report({
            url: args.config.url,
            taskId: args.taskId,
            attempts: attempt,
            status,
            ok: status < 300,
          });
        }
      } catch (e) {
        error = (e as Error).message;
        // A refused address will not become public by retrying.
        if (isStrataError(e))
          return this.#report({
            url: args.config.url,
            taskId: args.taskId,
            attempts: attempt,
            status,
            ok: false,
            error,
          });
      }
      if (attempt < attempts)
        await sleep(Math.min((this.#o.baseDelayMs ?? 250) * 4 ** (attempt - 1), 10_000));
    }
    return this.#report({ url: args.config.url, taskId: args.taskId, attempts, status, ok: false, error });
  }

  #report(delivery: PushDelivery): void {
    if (!delivery.ok) this.#o.logger.warn({ ...delivery }, 'a2a push notification not delivered');
    this.#o.onDelivery?.(delivery);
  }

  #post(args: { url: string; headers: Record<string, string>; body: string }): Promise<number> {
    const url = assertOutboundUrl(args.url, { allowPrivate: this.#o.allowPrivate });
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: 'POST',
          headers: { ...args.headers, 'content-length': String(Buffer.byteLength(args.body)) },
          timeout: this.#o.timeoutMs ?? 5000,
          ...(this.#o.allowPrivate ? {} : { lookup: guardedLookup }),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('push notification timed out')));
      req.on('error', (e) => reject(lookupRefusal(e)));
      req.end(args.body);
    });
  }
}

/** Node wraps lookup errors; surface our refusal (a StrataError) when that was the cause. */
const lookupRefusal = (error: Error): Error => (isStrataError(error.cause) ? error.cause : error);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
