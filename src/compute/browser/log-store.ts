/**
 * @module compute/browser/log-store
 * Durable side of browser sessions: session rows, the action log and screenshots by content hash.
 * Every read takes the tenant, so another tenant's session is E_NOT_FOUND, never a leak.
 */
import { createHash } from 'node:crypto';
import { StrataError, type Store } from '../../kernel/index.ts';

export type SessionStatus = 'open' | 'closed';

/** Why a session closed. */
export type CloseReason = 'closed' | 'idle' | 'shutdown' | 'crashed';

export type SessionRecord = {
  id: string;
  tenantId: string;
  status: SessionStatus;
  allowUrls: string[];
  profile: string | null;
  createdAt: number;
  closedAt: number | null;
  closeReason: string | null;
  actions: number;
};

export type ActionRecord = {
  seq: number;
  kind: string;
  detail: Record<string, unknown>;
  ok: boolean;
  url: string | null;
  title: string | null;
  error: { code: string; message: string } | null;
  /** SHA-256 of the screenshot taken after the action (`browser.shot` returns it). */
  screenshot: string | null;
  durationMs: number;
  at: number;
};

type SessionRow = {
  id: string;
  tenant_id: string;
  status: string;
  allow_urls: string;
  profile: string | null;
  created_at: number;
  closed_at: number | null;
  close_reason: string | null;
  actions: number;
};

type ActionRow = {
  seq: number;
  kind: string;
  detail: string;
  ok: number;
  url: string | null;
  title: string | null;
  error: string | null;
  screenshot: string | null;
  duration_ms: number;
  at: number;
};

const toSession = (row: SessionRow): SessionRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  status: row.status as SessionStatus,
  allowUrls: JSON.parse(row.allow_urls) as string[],
  profile: row.profile,
  createdAt: Number(row.created_at),
  closedAt: row.closed_at === null ? null : Number(row.closed_at),
  closeReason: row.close_reason,
  actions: Number(row.actions),
});

const toAction = (row: ActionRow): ActionRecord => ({
  seq: Number(row.seq),
  kind: row.kind,
  detail: JSON.parse(row.detail) as Record<string, unknown>,
  ok: Number(row.ok) === 1,
  url: row.url,
  title: row.title,
  error: row.error === null ? null : (JSON.parse(row.error) as { code: string; message: string }),
  screenshot: row.screenshot,
  durationMs: Number(row.duration_ms),
  at: Number(row.at),
});

export function sha256Of(png: Buffer): string {
  return createHash('sha256').update(png).digest('hex');
}

export class BrowserLog {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async createSession(record: {
    id: string;
    tenantId: string;
    allowUrls: readonly string[];
    profile: string | null;
    principal: string;
    at: number;
  }): Promise<void> {
    await this.#store.run(
      `INSERT INTO browser_sessions (id, tenant_id, status, allow_urls, profile, principal, created_at)
       VALUES (?, ?, 'open', ?, ?, ?, ?)`,
      [
        record.id,
        record.tenantId,
        JSON.stringify(record.allowUrls),
        record.profile,
        record.principal,
        record.at,
      ],
    );
  }

  async closeSession(id: string, reason: CloseReason, at: number): Promise<void> {
    await this.#store.run(
      `UPDATE browser_sessions SET status = 'closed', closed_at = ?, close_reason = ? WHERE id = ? AND status = 'open'`,
      [at, reason, id],
    );
  }

  /** The session in this tenant; E_NOT_FOUND otherwise (including another tenant's). */
  async session(tenantId: string, id: string): Promise<SessionRecord> {
    const row = await this.#store.get<SessionRow>(
      'SELECT * FROM browser_sessions WHERE id = ? AND tenant_id = ?',
      [id, tenantId],
    );
    if (!row) throw new StrataError('E_NOT_FOUND', `no browser session ${id}`, { sessionId: id });
    return toSession(row);
  }

  async sessions(
    tenantId: string,
    options: { status?: SessionStatus; limit: number },
  ): Promise<SessionRecord[]> {
    const rows =
      options.status === undefined
        ? await this.#store.all<SessionRow>(
            'SELECT * FROM browser_sessions WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ?',
            [tenantId, options.limit],
          )
        : await this.#store.all<SessionRow>(
            'SELECT * FROM browser_sessions WHERE tenant_id = ? AND status = ? ORDER BY created_at DESC, id DESC LIMIT ?',
            [tenantId, options.status, options.limit],
          );
    return rows.map(toSession);
  }

  /** Appends an action (and its screenshot, stored once per content). */
  async record(sessionId: string, action: ActionRecord, png: Buffer | undefined): Promise<void> {
    await this.#store.transaction(async (tx) => {
      if (png && action.screenshot) {
        await tx.run(
          `INSERT INTO browser_screenshots (sha256, png, bytes, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (sha256) DO NOTHING`,
          [action.screenshot, png, png.length, action.at],
        );
      }
      await tx.run(
        `INSERT INTO browser_actions (session_id, seq, kind, detail, ok, url, title, error, screenshot, duration_ms, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          sessionId,
          action.seq,
          action.kind,
          JSON.stringify(action.detail),
          action.ok ? 1 : 0,
          action.url,
          action.title,
          action.error === null ? null : JSON.stringify(action.error),
          action.screenshot,
          action.durationMs,
          action.at,
        ],
      );
      await tx.run('UPDATE browser_sessions SET actions = ? WHERE id = ?', [action.seq, sessionId]);
    });
  }

  async actions(
    tenantId: string,
    sessionId: string,
  ): Promise<{ session: SessionRecord; actions: ActionRecord[] }> {
    const session = await this.session(tenantId, sessionId);
    const rows = await this.#store.all<ActionRow>(
      `SELECT seq, kind, detail, ok, url, title, error, screenshot, duration_ms, at
       FROM browser_actions WHERE session_id = ? ORDER BY seq`,
      [sessionId],
    );
    return { session, actions: rows.map(toAction) };
  }

  /**
   * A screenshot of one of the session's actions: by action `seq`, by hash, or the latest. Only
   * hashes the session's own log refers to are served, so a hash from another tenant is E_NOT_FOUND.
   */
  async screenshot(
    tenantId: string,
    query: { sessionId: string; seq?: number; sha256?: string },
  ): Promise<{ seq: number; sha256: string; png: Buffer }> {
    await this.session(tenantId, query.sessionId);
    let where = '';
    const params: (string | number)[] = [query.sessionId];
    if (query.seq !== undefined) {
      where = 'AND a.seq = ?';
      params.push(query.seq);
    } else if (query.sha256 !== undefined) {
      where = 'AND a.screenshot = ?';
      params.push(query.sha256);
    }
    const row = await this.#store.get<{ seq: number; sha256: string; png: Buffer }>(
      `SELECT a.seq, s.sha256, s.png FROM browser_actions a JOIN browser_screenshots s ON s.sha256 = a.screenshot
       WHERE a.session_id = ? ${where} ORDER BY a.seq DESC LIMIT 1`,
      params,
    );
    if (!row) {
      throw new StrataError(
        'E_NOT_FOUND',
        `no screenshot for that action of session ${query.sessionId}`,
        query,
      );
    }
    return { seq: Number(row.seq), sha256: row.sha256, png: Buffer.from(row.png) };
  }
}
