/**
 * @module compute/browser/pool
 * A warm pool of Chromium: one browser process (Debian's `/usr/bin/chromium`, driven by
 * playwright-core) shared by every ephemeral session, each session getting its own browser context
 * (cookies, storage and cache isolated). A few contexts with a blank page are created ahead of time
 * (`spareContexts`), so opening a session hands one over instead of launching Chromium (~0.6–1 s)
 * or even creating a context (~0.1–0.3 s); the spare is replaced in the background.
 *
 * Persistent sessions use a named user-data directory, which Chromium can only open in a process
 * of its own (`launchPersistentContext`): they pay a launch, and a profile is open at most once.
 *
 * playwright-core is loaded on the first launch, so importing the layer (and every CLI command that
 * opens a runtime) does not pay for it. If the shared browser dies, the next acquire launches a new one. `close()` closes every context
 * and browser this pool started and waits for the processes to exit, so nothing leaks.
 */
import type { Browser, BrowserContext, BrowserContextOptions, BrowserType, Page } from 'playwright-core';
import { StrataError, type Logger } from '../../kernel/index.ts';
import { BrowserHealth, type BrowserHealthOptions } from './health.ts';
import { prepareContext } from './session.ts';

/** Flags Debian's Chromium needs to run headless as root in a container, without phoning home. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--mute-audio',
];

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

let chromiumType: Promise<BrowserType> | undefined;
/** playwright-core's Chromium launcher, imported once, on first use. */
function chromium(): Promise<BrowserType> {
  chromiumType ??= import('playwright-core').then((module) => module.chromium);
  return chromiumType;
}

export interface BrowserPoolOptions {
  /** @default '/usr/bin/chromium' */
  executablePath?: string;
  /** Contexts kept ready for the next sessions. @default 1 */
  spareContexts?: number;
  /** @default { width: 1280, height: 800 } */
  viewport?: { width: number; height: number };
  logger?: Logger;
  /** Thresholds of the pool's health reading (and its clock). */
  health?: BrowserHealthOptions;
}

/** A context and its first page, handed to one session. */
export interface Lease {
  readonly context: BrowserContext;
  readonly page: Page;
}

export class BrowserPool {
  readonly #executablePath: string;
  readonly #spareCount: number;
  readonly #contextOptions: BrowserContextOptions;
  readonly #logger: Logger | undefined;
  #browser: Promise<Browser> | undefined;
  #spares: Promise<Lease>[] = [];
  readonly #persistent = new Set<BrowserContext>();
  #closed = false;
  /** Chromium processes launched so far (shared and persistent). */
  launches = 0;
  /** What launches, crashes and full slots say about the pool (its sessions report into it too). */
  readonly health: BrowserHealth;

  constructor(options: BrowserPoolOptions = {}) {
    this.#executablePath = options.executablePath ?? DEFAULT_CHROMIUM_PATH;
    this.#spareCount = Math.max(0, options.spareContexts ?? 1);
    this.#logger = options.logger;
    this.health = new BrowserHealth(options.health);
    this.#contextOptions = {
      viewport: options.viewport ?? { width: 1280, height: 800 },
      // Service workers would fetch outside the context's routing, so the allow-list could not see them.
      serviceWorkers: 'block',
      acceptDownloads: false,
    };
  }

  /** Launches the shared browser and fills the spare contexts; resolves when they are ready. */
  async warm(): Promise<void> {
    this.#refill();
    await Promise.all(this.#spares.map((spare) => spare.catch(() => undefined)));
  }

  /** A fresh context on the shared browser: a spare when one is ready, else a new one. */
  async acquire(): Promise<Lease> {
    this.#assertOpen();
    while (this.#spares.length > 0) {
      const spare = this.#spares.shift() as Promise<Lease>;
      this.#refill();
      try {
        const lease = await spare;
        if (lease.context.browser()?.isConnected() === true && !lease.page.isClosed()) return lease;
      } catch (error) {
        this.#logger?.warn({ err: error }, 'a spare browser context failed; creating another');
      }
    }
    const lease = await this.#newLease();
    this.#refill();
    return lease;
  }

  /** A context on a user-data directory of its own (a separate Chromium process). */
  async acquirePersistent(userDataDir: string): Promise<Lease> {
    this.#assertOpen();
    this.launches += 1;
    const context = await (
      await chromium()
    )
      .launchPersistentContext(userDataDir, {
        ...this.#contextOptions,
        executablePath: this.#executablePath,
        args: [...CHROMIUM_ARGS],
        headless: true,
      })
      .catch((cause: unknown) => {
        throw this.#launchFailed(cause);
      });
    this.health.launched();
    this.#persistent.add(context);
    context.on('close', () => this.#persistent.delete(context));
    const page = context.pages()[0] ?? (await context.newPage());
    return { context, page };
  }

  /** Closes spares, persistent contexts and the shared browser; waits for the processes to exit. */
  async close(): Promise<void> {
    this.#closed = true;
    const spares = this.#spares;
    this.#spares = [];
    await Promise.all(spares.map((s) => s.then((l) => l.context.close()).catch(() => undefined)));
    await Promise.all([...this.#persistent].map((c) => c.close().catch(() => undefined)));
    const browser = this.#browser;
    this.#browser = undefined;
    if (browser) await browser.then((b) => b.close()).catch(() => undefined);
  }

  #assertOpen(): void {
    if (this.#closed) throw new StrataError('E_SHUTTING_DOWN', 'the browser pool is closed');
  }

  #refill(): void {
    if (this.#closed) return;
    while (this.#spares.length < this.#spareCount) {
      const spare = this.#newLease();
      spare.catch(() => undefined); // surfaced when acquired
      this.#spares.push(spare);
    }
  }

  async #newLease(): Promise<Lease> {
    const browser = await this.#shared();
    const context = await browser.newContext(this.#contextOptions);
    if (this.#closed) {
      await context.close();
      throw new StrataError('E_SHUTTING_DOWN', 'the browser pool is closed');
    }
    await prepareContext(context);
    return { context, page: await context.newPage() };
  }

  #shared(): Promise<Browser> {
    if (this.#browser) return this.#browser;
    this.launches += 1;
    const launching = chromium()
      .then((type) =>
        type.launch({ executablePath: this.#executablePath, args: [...CHROMIUM_ARGS], headless: true }),
      )
      .then((browser) => {
        this.health.launched();
        browser.on('disconnected', () => {
          if (this.#browser === launching) this.#browser = undefined;
          this.#spares = [];
        });
        return browser;
      })
      .catch((cause: unknown) => {
        if (this.#browser === launching) this.#browser = undefined;
        throw this.#launchFailed(cause);
      });
    this.#browser = launching;
    return launching;
  }

  #launchFailed(cause: unknown): StrataError {
    const error = launchError(this.#executablePath, cause);
    if (!this.#closed) this.health.launchFailed(error.message);
    return error;
  }
}

function launchError(executablePath: string, cause: unknown): StrataError {
  const detail = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new StrataError(
    'E_UNAVAILABLE',
    `cannot launch Chromium at ${executablePath} (install Debian's chromium or set browser.executablePath): ${detail}`,
    { executablePath },
    { cause },
  );
}
