/**
 * @module web/session
 * Dashboard sessions without a session table: logging in with an API key asks the kernel for a
 * capability token (`kernel.tokens.issue`, audited) issued to the key's own id, and that token is the
 * session cookie (`HttpOnly`, `SameSite=Strict`). So a session is checked by the kernel like any other
 * credential on every request, survives a server restart (tokens are signed by the tenant's persistent
 * keys), expires by itself, and is revoked by `kernel.tokens.revoke` (logout does so).
 *
 * A read-only session's token holds only the read grants the views need: a read-only operator
 * cannot act because the kernel refuses the call, not because a button is hidden.
 *
 * CSRF: every write must carry `X-CSRF-Token` (htmx sends it from a meta tag) or a `_csrf` form
 * field equal to a digest of the session cookie, and come from this origin (`Origin`, else
 * `Sec-Fetch-Site`). A page on another origin can neither read the cookie nor compute the digest.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Html } from './layout.ts';
import { grantCovers, StrataError, type Grant, type Kernel, type Principal } from '../kernel/index.ts';
import { isLiveRender, LIVE_RENDER_HEADER } from './live-render-mark.ts';

export const SESSION_COOKIE = 'strata_session';
export const CSRF_HEADER = 'x-csrf-token';
/** @default 8 hours: one working day */
export const DEFAULT_SESSION_TTL_SECONDS = 8 * 3600;

/** The reads behind every view; a read-only session gets exactly these (see the module doc). */
export const READ_ONLY_SYSCALLS = [
  'kernel.whoami',
  'kernel.events.read',
  'kernel.audit.list',
  'kernel.audit.verify',
  'runs.list',
  'runs.get',
  'runs.journal',
  'runs.count',
  'runs.budget_pauses.list',
  'approvals.list',
  'approvals.get',
  'escalations.list',
  'fleet.problems',
  'fleet.drivers',
  'fleet.tree',
  'fleet.report',
  'fleet.reliability',
  'fleet.snapshot',
  'fleet.task.list',
  'mq.queues',
  'mq.list',
  'mq.stats',
  'mq.show',
  'billing.cost',
  'billing.budgets.list',
  'chaos.status',
  'sandbox.list',
  'browser.list',
  'mail.mailboxes.list',
  'mail.events.list',
  'memory.search',
  'memory.list',
  'tools.servers',
  'model.capacity',
  'tools.list',
  'tools.vault.list',
  'provision.list',
] as const;

export interface DashboardVariables {
  requestId: string;
  principal: Principal;
  /** The CSRF token of this session, embedded in every page. */
  csrf: string;
  readOnly: boolean;
  /** A banner over every page (fault injection is on). */
  banner: Html | undefined;
  /** Set by a view whose body is an answer to bad input (400) rather than the data. */
  viewStatus: 400 | 404 | undefined;
  /** A live stream's own render (live-render-mark.ts): its reads are quiet. */
  liveRender: boolean;
}
export interface DashboardEnv {
  Variables: DashboardVariables;
}

export const csrfOf = (sessionToken: string): string =>
  createHash('sha256').update(`strata-csrf\0${sessionToken}`).digest('base64url');

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Whether a principal's grants are only the read-only list (a token issued by a read-only login). */
const isReadOnly = (principal: Principal): boolean =>
  principal.grants.every((g) => (READ_ONLY_SYSCALLS as readonly string[]).includes(g.syscall));

export interface LoginResult {
  readonly token: string;
  readonly expiresAt: number;
}

/** Exchanges an API key for a session token; E_UNAUTHENTICATED for a bad key. */
export async function login(
  kernel: Kernel,
  apiKey: string,
  options: { readOnly: boolean; ttlSeconds?: number },
): Promise<LoginResult> {
  if (!/^sk_\S{1,200}$/.test(apiKey))
    throw new StrataError('E_UNAUTHENTICATED', 'that is not an API key (sk_…)');
  const principal = await kernel.authenticate({ apiKey });
  const grants: Grant[] = options.readOnly
    ? READ_ONLY_SYSCALLS.map((syscall) => ({ syscall, resource: '*' }))
    : principal.grants.map((g) => ({ ...g }));
  // A key whose own grants are narrower than the read list cannot mint a wider read-only token.
  const issued = await kernel.call<{ token: string; expiresAt: number }>(
    'kernel.tokens.issue',
    {
      subject: principal.id,
      grants: options.readOnly
        ? grants.filter((g) => principal.grants.some((held) => grantCovers(held, g)))
        : grants,
      ttlSeconds: options.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS,
    },
    { principal },
  );
  return { token: issued.token, expiresAt: issued.expiresAt };
}

export function setSessionCookie(c: Context, session: LoginResult): void {
  setCookie(c, SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    secure: new URL(c.req.url).protocol === 'https:',
    expires: new Date(session.expiresAt),
  });
}

export const clearSessionCookie = (c: Context): void => {
  deleteCookie(c, SESSION_COOKIE, { path: '/' });
};

/** What a request without a usable session gets: the login page, saying why. */
const toLogin = (c: Context, why: 'expired' | 'none'): Response => {
  if (c.req.header('hx-request') === 'true') {
    // htmx follows this header with a full navigation instead of swapping a login form into a table.
    c.header('HX-Redirect', `/ui/login?${why === 'expired' ? 'expired=1' : ''}`);
    return c.body(null, 401);
  }
  return c.redirect(`/ui/login${why === 'expired' ? '?expired=1' : ''}`, 303);
};

/** Resolves the session cookie to a principal; no or a bad cookie goes to the login page. */
export function requireSession(kernel: Kernel): MiddlewareHandler<DashboardEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token === undefined || token === '') return toLogin(c, 'none');
    let principal: Principal;
    try {
      principal = await kernel.authenticate({ token });
    } catch (error) {
      // Expired, revoked or garbled: every such token error is a 401.
      if (error instanceof StrataError && error.httpStatus === 401) {
        clearSessionCookie(c);
        return toLogin(c, 'expired');
      }
      throw error;
    }
    c.set('principal', principal);
    c.set('csrf', csrfOf(token));
    c.set('readOnly', isReadOnly(principal));
    c.set('liveRender', isLiveRender(c.req.header(LIVE_RENDER_HEADER)));
    await next();
    return undefined;
  };
}

/** Whether the request comes from this server's own origin (the dashboard's pages). */
export function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  const own = new URL(c.req.url).origin;
  if (origin !== undefined && origin !== 'null') return origin === own;
  // Browsers send Sec-Fetch-Site on every request; without Origin it must say same-origin.
  return c.req.header('sec-fetch-site') === 'same-origin';
}

/** Refuses a write without this session's CSRF token or from another origin (E_CSRF, 403). */
export function requireCsrf(): MiddlewareHandler<DashboardEnv> {
  return async (c, next) => {
    if (!sameOrigin(c)) throw new StrataError('E_CSRF', 'cross-origin writes are refused');
    let presented = c.req.header(CSRF_HEADER);
    if (presented === undefined) {
      const form = await c.req.parseBody();
      const field = form['_csrf'];
      presented = typeof field === 'string' ? field : undefined;
    }
    if (presented === undefined || !sameText(presented, c.get('csrf'))) {
      throw new StrataError('E_CSRF', 'the form is missing its CSRF token, or it is stale: reload the page');
    }
    await next();
  };
}
