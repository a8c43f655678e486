/**
 * LISTEN on a dedicated connection that survives losing it. A checked-out pg client that loses its
 * connection emits 'error' on itself (the pool only guards idle clients), which would crash the
 * process; here the client is discarded and the listener reconnects with backoff. Notifications
 * sent while it was away are lost, so after each reconnect `onMessage('')` is called once: the
 * listener's owner treats it as "look again" (the worker re-polls its queue).
 */
import type pg from 'pg';
import { StrataError } from '../../../errors.ts';
import { toStoreError } from './driver.ts';

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

export async function listenOn(
  pool: pg.Pool,
  channel: string,
  onMessage: (payload: string) => void,
): Promise<() => Promise<void>> {
  if (!CHANNEL.test(channel)) {
    throw new StrataError('E_INVALID_INPUT', `invalid LISTEN channel name "${channel.slice(0, 80)}"`);
  }
  let client: pg.PoolClient | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let retryMs = FIRST_RETRY_MS;

  const handler = (message: pg.Notification): void => {
    if (message.channel === channel) onMessage(message.payload ?? '');
  };
  /** The listening client lost its connection: discard it (the pool destroys it) and come back. */
  const onLost = (lost: pg.PoolClient, error: Error): void => {
    if (client !== lost) return; // an error from a client already discarded
    client = undefined;
    lost.off('notification', handler);
    lost.release(error);
    if (!stopped) scheduleReconnect();
  };

  async function connect(): Promise<void> {
    const next = await pool.connect();
    // Stays attached for the client's life: a discarded client may still emit 'error'.
    next.on('error', (error) => onLost(next, error));
    try {
      next.on('notification', handler);
      await next.query(`LISTEN ${channel}`);
    } catch (error) {
      next.off('notification', handler);
      next.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    if (stopped) {
      next.release();
      return;
    }
    client = next;
    retryMs = FIRST_RETRY_MS;
  }

  function scheduleReconnect(): void {
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => !stopped && onMessage(''),
        () => {
          retryMs = Math.min(MAX_RETRY_MS, retryMs * 2);
          if (!stopped) scheduleReconnect();
        },
      );
    }, retryMs);
    retry.unref();
  }

  await connect().catch((error: unknown) => {
    throw toStoreError(error);
  });

  return async () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(retry);
    const current = client;
    client = undefined;
    if (!current) return;
    current.off('notification', handler);
    try {
      await current.query(`UNLISTEN ${channel}`);
      current.release();
    } catch (error) {
      current.release(error instanceof Error ? error : new Error(String(error)));
    }
  };
}
