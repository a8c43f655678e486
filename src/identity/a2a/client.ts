/**
 * @module identity/a2a/client
 * `a2aCall`: Strata as an A2A 1.0 client of any remote agent, through the official SDK's client.
 * Before sending, the card is verified to the requested trust level (`signed` by default: a valid
 * JWS by a key its origin publishes; `possession`: plus the PoP challenge; `none`: unsigned cards
 * accepted), and both the card URL and the agent's endpoint must be public addresses unless
 * `allowPrivate` (tests).
 */
import { TaskState, taskStateToJSON, type AgentCard, type Task } from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { hangUntilAborted, takeChaosFault } from '../../kernel/chaos/scope.ts';
import { StrataError, isStrataError } from '../../kernel/errors.ts';
import { withDeadline } from '../../kernel/syscalls/deadline.ts';
import { textMessage, textOf, textOfParts } from './parts.ts';
import { assertPublicHost } from '../net-guard.ts';
import { verifyCard } from './verify-card.ts';

export type A2aTrust = 'none' | 'signed' | 'possession';

export interface A2aCallOptions {
  /** The agent's base URL (its card is at `<url>/.well-known/agent-card.json`) or its card URL. */
  readonly url: string;
  readonly text: string;
  /** Continue a conversation / an INPUT_REQUIRED task. */
  readonly contextId?: string;
  readonly taskId?: string;
  /** @default 'signed' */
  readonly trust?: A2aTrust;
  /** Allow private and loopback addresses: tests only. @default false */
  readonly allowPrivate?: boolean;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
  /** How long the agent may take to answer the message; then E_SYSCALL_TIMEOUT (retryable). */
  readonly timeoutMs?: number;
}

export interface A2aCallResult {
  readonly agent: string;
  /** `TASK_STATE_*`, or `MESSAGE` when the agent answered with a bare message. */
  readonly state: string;
  readonly text: string;
  readonly taskId: string | null;
  readonly contextId: string;
  /** The card key that was verified, and whether the server proved it holds it. */
  readonly verified: { readonly kid: string; readonly possession: boolean } | null;
}

/** The card URL for a base URL or card URL. */
export const cardUrlOf = (url: string): string =>
  url.endsWith('.json') ? url : `${url.replace(/\/+$/, '')}/.well-known/agent-card.json`;

/** The artifacts' text, or the status message's when there are none (e.g. INPUT_REQUIRED). */
const resultText = (task: Task): string =>
  task.artifacts.length > 0
    ? task.artifacts.map((a) => textOfParts(a.parts)).join('\n')
    : textOf(task.status?.message);

/** Sends one message to a remote A2A agent and waits for its answer (blocking SendMessage). */
export async function a2aCall(options: A2aCallOptions): Promise<A2aCallResult> {
  const allowPrivate = options.allowPrivate ?? false;
  const cardUrl = (await assertPublicHost(cardUrlOf(options.url), { allowPrivate })).href;
  const trust = options.trust ?? 'signed';
  let card: AgentCard;
  let verified: A2aCallResult['verified'] = null;
  if (trust === 'none') {
    card = await new DefaultAgentCardResolver({ fetchImpl: options.fetch ?? fetch })
      .resolve(cardUrl, '')
      .catch((error: unknown) => {
        throw new StrataError(
          'E_A2A_CARD_INVALID',
          `agent card at ${cardUrl} unavailable`,
          { url: cardUrl, reason: 'fetch' },
          { cause: error },
        );
      });
  } else {
    const v = await verifyCard(cardUrl, { fetch: options.fetch, requirePossession: trust === 'possession' });
    card = v.card;
    verified = { kid: v.kid, possession: v.possession };
  }
  for (const i of card.supportedInterfaces) await assertPublicHost(i.url, { allowPrivate });
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: answeringFetch(options.fetch ?? fetch) })],
    }),
  );
  const message = textMessage({
    role: 'user',
    text: options.text,
    taskId: options.taskId,
    contextId: options.contextId,
  });
  try {
    const client = await factory.createFromAgentCard(card);
    const answer = await withDeadline(
      options,
      { message: `remote A2A agent ${card.name} did not answer`, data: { agent: card.name } },
      (signal) =>
        client.sendMessage(
          { tenant: '', message, configuration: undefined, metadata: undefined },
          { signal },
        ),
    );
    if ('messageId' in answer) {
      return {
        agent: card.name,
        state: 'MESSAGE',
        text: textOf(answer),
        taskId: answer.taskId || null,
        contextId: answer.contextId,
        verified,
      };
    }
    const state = taskStateToJSON(answer.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED);
    return {
      agent: card.name,
      state,
      text: resultText(answer),
      taskId: answer.id,
      contextId: answer.contextId,
      verified,
    };
  } catch (error) {
    if (isStrataError(error)) throw error;
    const e = error as { message?: string; reason?: string; envelopeCode?: number };
    throw new StrataError(
      'E_A2A_REMOTE',
      `remote A2A agent ${card.name}: ${e.message ?? 'failed'}`,
      { reason: e.reason ?? null, a2aCode: e.envelopeCode ?? null },
      { cause: error },
    );
  }
}

/**
 * The transport's fetch. Under chaos's `a2a_timeout` (kernel/chaos) the message's request never
 * gets an answer, as from an agent that hangs: the call's deadline or the caller's abort ends it.
 */
function answeringFetch(base: typeof fetch): typeof fetch {
  return (input, init) =>
    takeChaosFault('identity', 'a2a_timeout') ? hangUntilAborted(init?.signal) : base(input, init);
}
