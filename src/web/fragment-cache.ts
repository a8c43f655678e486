/**
 * @module web/fragment-cache
 * One render shared by the live pages of a tenant that show the same view. Ten operators watching
 * the runs list of a busy fleet would otherwise each re-render it several times a second; the pages
 * re-fetch on the same clock ticks (assets/app.js), and a re-fetch names the last event sequence the
 * page has seen (`X-Strata-Seq`), so a render made after that sequence is exactly as fresh as one
 * made for it.
 *
 * A render is shared only between sessions of the same tenant holding the same grants (what the
 * reads could see is the same), for the same URL, and only if it carries no per-session value (the
 * CSRF token of a form): such a fragment is rendered for each session. A hit makes no syscall, so it
 * writes no audit entry of its own; the render it reuses was read, checked and audited as the session
 * that made it. Entries live one second.
 */
import type { Principal } from '../kernel/index.ts';

const TTL_MS = 1000;
const MAX_ENTRIES = 500;

interface Entry {
  readonly at: number;
  /** The tenant's event head read before the render's data: it shows every event up to it. */
  readonly render: Promise<{ head: number; html: string; shareable: boolean } | undefined>;
}

export class FragmentCache {
  readonly #entries = new Map<string, Entry>();
  /** Re-fetches answered with a shared render, and renders made. */
  readonly stats = { hits: 0, renders: 0 };

  static keyOf(principal: Principal, url: string): string {
    return `${principal.tenantId}\0${JSON.stringify(principal.grants)}\0${url}`;
  }

  /**
   * A shared render at least as new as `seq`, or a fresh one from `make` (shared with the requests
   * that arrive while it runs). `make` reads the head first, then renders.
   */
  async get(
    key: string,
    seq: number,
    make: () => Promise<{ head: number; html: string; shareable: boolean } | undefined>,
  ): Promise<string | undefined> {
    const now = Date.now();
    const entry = this.#entries.get(key);
    if (entry && now - entry.at < TTL_MS) {
      const shared = await entry.render;
      if (shared?.shareable && shared.head >= seq) {
        this.stats.hits++;
        return shared.html;
      }
    }
    this.stats.renders++;
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
