/**
 * @module provisioning/resources/drivers/browser
 * A browser context with a persistent profile (cookies, storage) as a metered resource. Ready
 * means a live session on Debian's Chromium through the compute layer; suspend closes the session
 * (the profile stays on disk), resume opens a new one on the same profile — so the session id in
 * the resource's env changes on resume. Destroy closes the session and deletes the profile.
 *
 * The profile is named `r-<resource id>`, never after user text; sessions are opened for the
 * resource's tenant with the resource's URL allow-list.
 */
import { rm } from 'node:fs/promises';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Provisioned, ResourceDriver, ResourceRef } from '../types.ts';
import { idOf } from './sandbox.ts';

const PREFIX = 'r-';

/** The part of the compute layer's `BrowserHost` this driver uses (layers never import each other). */
export interface BrowserHost {
  openSession(input: {
    tenantId: string;
    principal: string;
    allowUrls: readonly string[];
    persistentContext?: string;
  }): Promise<{ readonly id: string }>;
  closeSession(ref: { tenantId: string; sessionId: string }): Promise<unknown>;
  get(ref: { tenantId: string; sessionId: string }): Promise<{ readonly live: boolean }>;
}

const configSchema = z
  .object({ allowUrls: z.array(z.string().min(1).max(500)).max(50).default([]) })
  .strict();

export interface BrowserResourceDriverOptions {
  readonly sessions: BrowserHost;
  /** The same `profilesDir` the sessions were opened with. */
  readonly profilesDir: string;
}

export class BrowserResourceDriver implements ResourceDriver {
  readonly kind = 'browser';
  readonly description = 'A Chromium context with a persistent profile; the session closes when suspended.';
  readonly configSchema = configSchema;
  readonly meters = { readySeconds: 'browser.ready_seconds', provisions: 'browser.provisions' };
  readonly #sessions: BrowserHost;
  readonly #profilesDir: string;

  constructor(options: BrowserResourceDriverOptions) {
    this.#sessions = options.sessions;
    this.#profilesDir = options.profilesDir;
  }

  async create(ref: ResourceRef): Promise<Provisioned> {
    await this.#closeSession(ref);
    return { ...(await this.#open(ref)), secrets: {} };
  }

  async suspend(ref: ResourceRef): Promise<void> {
    await this.#closeSession(ref);
  }

  async resume(ref: ResourceRef): Promise<Pick<Provisioned, 'handle' | 'env'> | void> {
    const session = ref.handle['session'];
    if (session && (await this.#sessions.get({ tenantId: ref.tenantId, sessionId: session })).live) return;
    return this.#open(ref);
  }

  async destroy(ref: ResourceRef): Promise<void> {
    await this.#closeSession(ref);
    await rm(join(this.#profilesDir, ref.tenantId, profileOf(ref.id)), { recursive: true, force: true });
  }

  rotateCredentials(): Promise<Record<string, string>> {
    return Promise.resolve({});
  }

  async listOwned(): Promise<string[]> {
    const tenants = await readdir(this.#profilesDir).catch(() => [] as string[]);
    const ids: string[] = [];
    for (const tenant of tenants) {
      const profiles = await readdir(join(this.#profilesDir, tenant)).catch(() => [] as string[]);
      for (const profile of profiles)
        if (profile.startsWith(PREFIX)) ids.push(idOf(profile.slice(PREFIX.length)));
    }
    return ids;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async #open(ref: ResourceRef): Promise<Pick<Provisioned, 'handle' | 'env'>> {
    const config = configSchema.parse(ref.config);
    const profile = profileOf(ref.id);
    const session = await this.#sessions.openSession({
      tenantId: ref.tenantId,
      principal: `resource:${ref.id}`,
      allowUrls: config.allowUrls,
      persistentContext: profile,
    });
    return {
      handle: { profile, session: session.id },
      env: { BROWSER_SESSION: session.id, BROWSER_PROFILE: profile },
    };
  }

  async #closeSession(ref: ResourceRef): Promise<void> {
    const session = ref.handle['session'];
    if (session) await this.#sessions.closeSession({ tenantId: ref.tenantId, sessionId: session });
  }
}

const profileOf = (resourceId: string): string => PREFIX + resourceId.toLowerCase();
