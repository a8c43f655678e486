/**
 * @module web/fragment-cache
 * One render shared by the live pages of a tenant that show the same view. Ten operators watching
 * the runs list of a busy fleet would otherwise each re-render it several times a second; their live
 * streams render on the same points of a clock grid (live-pacer.ts), and a render is asked for as
 * at least as new as the last event sequence the page's stream has read (`X-Strata-Seq` on a
 * re-fetch), so a render made after that sequence is exactly as fresh as one made for it.
 *
 * A render is shared only between sessions of the same tenant holding the same grants (what the
 * reads could see is the same), for the same URL, and only if it carries no per-session value: its
 * forms' CSRF fields are left empty for the page to fill in (render.ts), and a render that holds
 * the session's token anyway is rendered for each session. A hit makes no syscall, so it
 * writes no audit entry of its own; the render it reuses was read and checked as the session that
 * made it (audited too, unless a live stream made it: its reads are quiet, web/live-render-mark.ts).
 * Entries live one second.
 */
import type { Principal } from '../kernel/index.ts';

const TTL_MS = 1000;
const MAX_ENTRIES = 500;

/** A render and the tenant's event head read before its data: it shows every event up to it. */
export interface Render {
  readonly head: number;
  readonly html: string;
  /** False when it holds a per-session value (a form's CSRF token): then it is never reused. */
  readonly shareable: boolean;
}

interface Entry {
  readonly at: number;
  readonly render: Promise<Render | undefined>;
}

export class FragmentCache {
  readonly #entries = new Map<string, Entry>();
  /** Re-fetches answered with a shared render, and renders made. */
  readonly stats = { hits: 0, renders: 0 };

  static keyOf(principal: Principal, url: string): string {
    return `${principal.tenantId}\0${JSON.stringify(principal.grants)}\0${url}`;
  }

  /**
   * A fresh shared render for `key` at least as new as `seq`, or undefined. The same object for
   * every caller that reuses it (a live stream memoises what it writes of it, web/live-render.ts).
   * Counted as a hit unless `count: false` (the caller made that render itself).
   */
  async peek(key: string, seq: number, options: { count?: boolean } = {}): Promise<Render | undefined> {
    const entry = this.#entries.get(key);
    if (!entry || Date.now() - entry.at >= TTL_MS) return undefined;
    const shared = await entry.render.catch(() => undefined);
    if (!shared?.shareable || shared.head < seq) return undefined;
    if (options.count !== false) this.stats.hits++;
    return shared;
  }

  /**
   * A shared render at least as new as `seq`, or a fresh one from `make` (shared with the requests
   * that arrive while it runs). `make` reads the head first, then renders.
   */
  async get(key: string, seq: number, make: () => Promise<Render | undefined>): Promise<string | undefined> {
    const shared = await this.peek(key, seq);
    if (shared) return shared.html;
    this.stats.renders++;
    const now = Date.now();
    const render = make();
    this.#entries.set(key, { at: now, render });
    if (this.#entries.size > MAX_ENTRIES) this.#prune(now);
    const made = await render;
    return made?.html;
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) if (now - entry.at >= TTL_MS) this.#entries.delete(key);
  }
}
