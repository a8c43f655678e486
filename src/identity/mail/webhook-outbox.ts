/**
 * The parts every webhook outbox shares (mail events here, approval events in orchestration): the
 * dispatch loop that coalesces wake-ups, one signed attempt, and the retry schedule. Each outbox
 * keeps its own tables and claim queries; these pieces only carry the behaviour that must not drift
 * between them (signing, secret redaction, backoff).
 */
import type { Logger } from '../../kernel/index.ts';
import { postWebhook } from './webhook-post.ts';
import { signWebhook } from './webhook-signature.ts';

/**
 * Runs `round` now and then: every `intervalMs` (an unref'd timer: it never keeps a process alive)
 * and on `kick()`. A kick during a round runs one more round after it, never two at once.
 */
export class DispatchLoop {
  readonly #round: () => Promise<unknown>;
  readonly #o: { intervalMs: number; logger: Logger; failure: string };
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(
    round: () => Promise<unknown>,
    options: { intervalMs: number; logger: Logger; failure: string },
  ) {
    this.#round = round;
    this.#o = options;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#timer = setInterval(() => this.kick(), this.#o.intervalMs);
    this.#timer.unref();
  }

  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#round()
      .then(() => undefined)
      .catch((error: unknown) => this.#o.logger.warn({ err: error }, this.#o.failure))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** Kicks again at `at` (epoch ms; a retry's due time) unless stopped by then. */
  kickAt(at: number, now: number): void {
    if (!this.#stopped) setTimeout(() => this.kick(), Math.max(0, at - now)).unref();
  }

  /** Stops the timer and waits for the round in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}

export interface AttemptResult {
  readonly statusCode: number | null;
  /** Null on a 2xx; else `HTTP <status>` or the network error, never containing the secret. */
  readonly error: string | null;
  readonly durationMs: number;
}

/** One signed POST of `body` under event id `id`; anything but a 2xx is an error. */
export async function sendSignedWebhook(args: {
  url: string;
  secret: string;
  id: string;
  body: string;
  nowMs: number;
  timeoutMs: number;
  allowPrivate: boolean;
}): Promise<AttemptResult> {
  const headers = signWebhook(args.secret, {
    id: args.id,
    timestamp: Math.floor(args.nowMs / 1000),
    body: args.body,
  });
  const started = performance.now();
  let statusCode: number | null = null;
  let error: string | null = null;
  try {
    statusCode = await postWebhook({
      url: args.url,
      headers,
      body: args.body,
      timeoutMs: args.timeoutMs,
      allowPrivate: args.allowPrivate,
    });
    if (statusCode < 200 || statusCode > 299) error = `HTTP ${statusCode}`;
  } catch (e) {
    // Never let the secret reach the log, whatever a network error might echo.
    error = (e instanceof Error ? e.message : String(e)).replaceAll(args.secret, '[REDACTED]');
  }
  return { statusCode, error, durationMs: Math.round(performance.now() - started) };
}

/**
 * When attempt `attempts` (1-based) that failed is retried: exponential backoff with jitter, half
 * to full of `baseDelayMs·2^(attempts-1)`, capped at `maxDelayMs`.
 */
export function retryAt(
  attempts: number,
  delays: { baseDelayMs: number; maxDelayMs: number },
  now: number,
): number {
  const delay = Math.min(delays.maxDelayMs, delays.baseDelayMs * 2 ** (attempts - 1));
  return now + Math.round(delay * (0.5 + Math.random() / 2));
}
