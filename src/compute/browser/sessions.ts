/**
 * @module compute/browser/sessions
 * Browser sessions for agents: open (with an allow-list and, optionally, a named persistent
 * profile), goto, click, fill, press, extract, screenshot, close. Each session belongs to a tenant;
 * another tenant's session id is E_NOT_FOUND. Actions on one session run one at a time, and each is
 * appended to the session's action log with a screenshot taken after it (stored once per content
 * hash), including failed and refused actions, so what an agent did can be replayed by eye later.
 *
 * Sessions idle longer than `idleTimeoutMs` are closed (reason `idle`); `close()` closes every
 * session (reason `shutdown`) and the pool, so no Chromium process outlives the server.
 *
 * @example
 * const browsers = await BrowserSessions.open({ store, profilesDir: '/var/lib/strata/browser' });
 * const s = await browsers.openSession({ tenantId, principal: 'key_1', allowUrls: ['https://example.com'] });
 * await browsers.goto({ tenantId, sessionId: s.id, url: 'https://example.com/' });
 * const page = await browsers.extract({ tenantId, sessionId: s.id });
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  newId,
  StrataError,
  systemClock,
  type Clock,
  type DriverHealth,
  type Logger,
  type Store,
} from '../../kernel/index.ts';
import { AllowList, parseTargetUrl } from './allow-list.ts';
import { EXTRACT_SCRIPT, type Extracted } from './extract.ts';
import { BrowserLog, type ActionRecord, type CloseReason } from './log-store.ts';
import { BROWSER_LAYER, browserMigrations } from './migrations.ts';
import { BrowserPool, type BrowserPoolOptions } from './pool.ts';
import { LiveSession } from './session.ts';
import type {
  ActionResult,
  ExtractResult,
  OpenSessionInput,
  ScreenshotResult,
  SessionInfo,
  SessionRef,
} from './session-types.ts';
import { SessionSlots } from './session-slots.ts';
import { notAllowed, performStep, pngSize, settle, type Outcome, type Step } from './session-step.ts';

export interface BrowserSessionsOptions {
  readonly store: Store;
  /** Named persistent profiles live in `<profilesDir>/<tenantId>/<name>`. */
  readonly profilesDir: string;
  /** An existing pool (e.g. shared); else one is created from `pool` options and closed with this. */
  readonly sharedPool?: BrowserPool;
  readonly pool?: BrowserPoolOptions;
  /** Sessions without an action for this long are closed. @default 300_000 */
  readonly idleTimeoutMs?: number;
  /** Live sessions at once on this node. @default 16 */
  readonly maxSessions?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const PROFILE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

export class BrowserSessions {
  readonly pool: BrowserPool;
  readonly log: BrowserLog;
  readonly #ownsPool: boolean;
  readonly #profilesDir: string;
  readonly #idleTimeoutMs: number;
  /** Session slots and open profiles; opens wait there for a free slot (`waitMs`). */
  readonly #slots: SessionSlots;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #live = new Map<string, LiveSession>();
  #reaper: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: BrowserSessionsOptions) {
    this.#ownsPool = options.sharedPool === undefined;
    const health = { clock: options.clock, ...options.pool?.health };
    const pool = { logger: options.logger, ...options.pool, health };
    this.pool = options.sharedPool ?? new BrowserPool(pool);
    this.log = new BrowserLog(options.store);
    this.#profilesDir = options.profilesDir;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
    this.#slots = new SessionSlots(options.maxSessions ?? 16, () => this.#live.size, {
      refused: () => this.pool.health.refused(),
      closing: () => this.#closing !== undefined,
    });
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    const every = Math.min(Math.max(Math.floor(this.#idleTimeoutMs / 4), 25), 30_000);
    this.#reaper = setInterval(() => void this.#reapIdle(), every);
    this.#reaper.unref();
  }

  /** Migrates the browser schema and returns the manager; Chromium starts on the first session. */
  static async open(options: BrowserSessionsOptions): Promise<BrowserSessions> {
    await options.store.migrate(BROWSER_LAYER, browserMigrations);
    return new BrowserSessions(options);
  }

  /** Live sessions on this node. */
  get liveCount(): number {
    return this.#live.size;
  }

  /** The pool's health reading (see health.ts), with this node's session slots. */
  health(): DriverHealth {
    return this.pool.health.reading({ inUse: this.#slots.inUse, max: this.#slots.max });
  }

  async openSession(input: OpenSessionInput): Promise<SessionInfo> {
    if (this.#closing) throw new StrataError('E_SHUTTING_DOWN', 'browser sessions are shutting down');
    const allow = new AllowList(input.allowUrls);
    const profile = input.persistentContext ?? null;
    const profileRef = profile === null ? null : { key: `${input.tenantId}/${profile}`, name: profile };
    if (profile !== null && !PROFILE_NAME.test(profile)) {
      throw new StrataError(
        'E_INVALID_INPUT',
        `persistentContext "${profile}" must be 1-64 letters, digits, _ . -`,
        {
          issues: [{ path: 'persistentContext', message: 'bad profile name' }],
        },
      );
    }
    const hold = await this.#slots.take(input.waitMs ?? 0, profileRef);
    this.pool.health.admitted();
    try {
      const lease =
        profile === null
          ? await this.pool.acquire()
          : await this.pool.acquirePersistent(this.#profileDir(input, profile));
      const id = newId('brs');
      const live = new LiveSession({
        id,
        tenantId: input.tenantId,
        ...lease,
        allow,
        profile,
        now: () => this.#clock.now(),
      });
      try {
        await live.install();
        const at = this.#clock.now();
        await this.log.createSession({
          id,
          tenantId: input.tenantId,
          allowUrls: allow.patterns,
          profile,
          principal: input.principal,
          at,
        });
      } catch (error) {
        await lease.context.close().catch(() => undefined);
        throw error;
      }
      this.#live.set(id, live);
      hold.opened();
      lease.context.on('close', () => void this.#lost(live));
      return { ...(await this.log.session(input.tenantId, id)), live: true };
    } catch (error) {
      hold.failed(); // nothing once opened: the live session holds its slot until it closes
      throw error;
    }
  }

  async goto(input: SessionRef & { url: string; timeoutMs?: number }): Promise<ActionResult> {
    const url = parseTargetUrl(input.url);
    const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return this.#act(input, {
      kind: 'goto',
      detail: { url },
      url,
      timeoutMs,
      run: async (live): Promise<Outcome> => {
        if (!live.allow.allows(url)) throw notAllowed(url, 'navigation');
        const response = await live.page.goto(url, { timeout: timeoutMs, waitUntil: 'load' });
        return response === null ? {} : { status: response.status() };
      },
    }).then(({ result }) => result);
  }

  click(input: SessionRef & { selector: string; timeoutMs?: number }): Promise<ActionResult> {
    const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return this.#act(input, {
      kind: 'click',
      detail: { selector: input.selector },
      selector: input.selector,
      timeoutMs,
      run: async (live): Promise<Outcome> => {
        const page = live.page;
        await page.click(input.selector, { timeout: timeoutMs });
        await settle(live, page, timeoutMs);
        return {};
      },
    }).then(({ result }) => result);
  }

  /** Types `value` into the field; the value is never logged (the log keeps its length). */
  fill(input: SessionRef & { selector: string; value: string; timeoutMs?: number }): Promise<ActionResult> {
    const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return this.#act(input, {
      kind: 'fill',
      detail: { selector: input.selector, chars: input.value.length },
      selector: input.selector,
      timeoutMs,
      run: async (live): Promise<Outcome> => {
        await live.page.fill(input.selector, input.value, { timeout: timeoutMs });
        return {};
      },
    }).then(({ result }) => result);
  }

  /** Presses a key (`Enter`, `Control+A`) in the element matching `selector`, or the focused one. */
  press(input: SessionRef & { key: string; selector?: string; timeoutMs?: number }): Promise<ActionResult> {
    const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const { selector, key } = input;
    return this.#act(input, {
      kind: 'press',
      detail: selector === undefined ? { key } : { key, selector },
      ...(selector === undefined ? {} : { selector }),
      timeoutMs,
      run: async (live): Promise<Outcome> => {
        const page = live.page;
        if (selector === undefined) await page.keyboard.press(key);
        else await page.press(selector, key, { timeout: timeoutMs });
        await settle(live, page, timeoutMs);
        return {};
      },
    }).then(({ result }) => result);
  }

  /** The page as Markdown-ish text and its links; `maxChars` caps the text (`truncated` says so). */
  async extract(input: SessionRef & { maxChars?: number; timeoutMs?: number }): Promise<ExtractResult> {
    const maxChars = input.maxChars ?? 20_000;
    let extracted: Extracted | undefined;
    const { result } = await this.#act(input, {
      kind: 'extract',
      detail: { maxChars },
      timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      run: async (live): Promise<Outcome> => {
        extracted = await live.page.evaluate<Extracted>(EXTRACT_SCRIPT);
        return {};
      },
    });
    const page = extracted as Extracted;
    return {
      ...result,
      text: page.text.slice(0, maxChars),
      links: page.links.slice(0, 1000),
      truncated: page.text.length > maxChars,
    };
  }

  async screenshot(
    input: SessionRef & { fullPage?: boolean; timeoutMs?: number },
  ): Promise<ScreenshotResult> {
    const fullPage = input.fullPage ?? false;
    const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const { result, png } = await this.#act(input, {
      kind: 'screenshot',
      detail: { fullPage },
      timeoutMs,
      screenshot: false,
      run: async (live): Promise<Outcome> => ({
        png: await live.page.screenshot({ type: 'png', fullPage, timeout: timeoutMs }),
      }),
    });
    const shot = png as Buffer;
    return { ...result, ...pngSize(shot), png: shot };
  }

  /** Closes a live session; closing a closed one is a no-op that returns its record. */
  async closeSession(ref: SessionRef): Promise<SessionInfo> {
    const live = this.#live.get(ref.sessionId);
    if (live && live.tenantId === ref.tenantId) await this.#closeLive(live, 'closed');
    return this.get(ref);
  }

  async get(ref: SessionRef): Promise<SessionInfo> {
    const record = await this.log.session(ref.tenantId, ref.sessionId);
    return { ...record, live: this.#live.has(record.id) };
  }

  async list(
    tenantId: string,
    options: { status?: 'open' | 'closed'; limit?: number } = {},
  ): Promise<SessionInfo[]> {
    const records = await this.log.sessions(tenantId, { status: options.status, limit: options.limit ?? 50 });
    return records.map((r) => ({ ...r, live: this.#live.has(r.id) }));
  }

  async actions(ref: SessionRef): Promise<{ session: SessionInfo; actions: ActionRecord[] }> {
    const { session, actions } = await this.log.actions(ref.tenantId, ref.sessionId);
    return { session: { ...session, live: this.#live.has(session.id) }, actions };
  }

  shot(
    ref: SessionRef & { seq?: number; sha256?: string },
  ): Promise<{ seq: number; sha256: string; png: Buffer }> {
    return this.log.screenshot(ref.tenantId, ref);
  }

  /** Closes every session (reason `shutdown`) and the pool it owns. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#reaper);
      this.#reaper = undefined;
      this.#slots.wake(); // the waiters look again, and find it shutting down
      await Promise.all([...this.#live.values()].map((live) => this.#closeLive(live, 'shutdown')));
      if (this.#ownsPool) await this.pool.close();
    })();
    return this.#closing;
  }

  #profileDir(input: OpenSessionInput, profile: string): string {
    const dir = join(this.#profilesDir, input.tenantId, profile);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /** The live session, or why there is none: E_NOT_FOUND (other tenant, unknown) or E_CONFLICT (closed). */
  async #liveOf(ref: SessionRef): Promise<LiveSession> {
    const live = this.#live.get(ref.sessionId);
    if (live && live.tenantId === ref.tenantId) return live;
    const record = await this.log.session(ref.tenantId, ref.sessionId);
    const why =
      record.status === 'closed'
        ? `was closed (${record.closeReason ?? 'closed'})`
        : 'is not live on this server (it was restarted)';
    throw new StrataError('E_CONFLICT', `browser session ${ref.sessionId} ${why}; open a new one`, {
      sessionId: ref.sessionId,
      state: 'closed',
      reason: record.closeReason ?? 'restart',
    });
  }

  /** Runs one step on the session's queue, logs it with a screenshot, and maps its failure. */
  async #act<T extends Outcome>(
    ref: SessionRef,
    step: Step<T>,
  ): Promise<{ result: ActionResult; png?: Buffer }> {
    const live = await this.#liveOf(ref);
    const run = live.queue.then(() => this.#perform(live, step));
    live.queue = run.catch(() => undefined);
    return run;
  }

  async #perform<T extends Outcome>(
    live: LiveSession,
    step: Step<T>,
  ): Promise<{ result: ActionResult; png?: Buffer }> {
    if (!this.#live.has(live.id)) await this.#liveOf({ tenantId: live.tenantId, sessionId: live.id });
    live.busy += 1;
    live.lastActivity = this.#clock.now();
    try {
      return await performStep(live, step, { log: this.log, now: () => this.#clock.now() });
    } finally {
      live.lastActivity = this.#clock.now();
      live.busy -= 1;
    }
  }

  async #closeLive(live: LiveSession, reason: CloseReason): Promise<void> {
    if (!this.#live.delete(live.id)) return;
    this.#slots.closed(
      live.profile === null ? null : { key: `${live.tenantId}/${live.profile}`, name: live.profile },
    );
    // Let a running action finish (each has its own timeout) before its context goes away.
    await live.queue;
    await live.close();
    await this.log.closeSession(live.id, reason, this.#clock.now()).catch((err: unknown) => {
      this.#logger?.warn({ err, sessionId: live.id }, 'could not record a browser session as closed');
    });
  }

  /** The context closed without us (Chromium crashed or was killed). */
  async #lost(live: LiveSession): Promise<void> {
    if (!this.#live.has(live.id)) return;
    this.#logger?.warn({ sessionId: live.id }, 'browser context closed unexpectedly');
    this.pool.health.sessionLost();
    await this.#closeLive(live, 'crashed');
  }

  async #reapIdle(): Promise<void> {
    const now = this.#clock.now();
    const idle = [...this.#live.values()].filter(
      (live) => live.busy === 0 && now - live.lastActivity >= this.#idleTimeoutMs,
    );
    await Promise.all(idle.map((live) => this.#closeLive(live, 'idle')));
  }
}
