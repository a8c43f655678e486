/**
 * @module web/login
 * `GET /ui/login` (the form), `POST /ui/login` (an API key for a session cookie, see session.ts),
 * `POST /ui/logout` (revokes the session's token, clears the cookie). Login is a write too: it must
 * come from this origin, so another site cannot log a browser in under its own key.
 */
import type { Hono } from 'hono';
import { html } from 'hono/html';
import { getCookie } from 'hono/cookie';
import { coerceError, type Kernel } from '../kernel/index.ts';
import { notice, page, type Html } from './layout.ts';
import {
  clearSessionCookie,
  login,
  requireCsrf,
  requireSession,
  sameOrigin,
  SESSION_COOKIE,
  setSessionCookie,
  type DashboardEnv,
} from './session.ts';
import { field } from './views/common.ts';

function loginPage(message?: Html): Html {
  return page({
    title: 'Log in',
    current: '',
    nav: [],
    body: html`${message ?? ''}
      <form method="post" action="/ui/login" class="stack">
        <label for="api-key"
          >API key
          <input
            id="api-key"
            name="key"
            type="password"
            autocomplete="current-password"
            required
            placeholder="sk_…"
          />
        </label>
        <label for="read-only"
          ><span
            ><input id="read-only" name="readOnly" type="checkbox" value="1" /> Read-only session (can look,
            cannot act)</span
          ></label
        >
        <button type="submit" class="primary">Log in</button>
      </form>
      <p class="muted">
        The admin key of <code>strata up</code> is in the file it printed. The key is exchanged for a signed
        session token; it is not stored.
      </p>`,
  });
}

export function loginRoutes(app: Hono<DashboardEnv>, kernel: Kernel): void {
  app.get('/login', (c) =>
    c.html(
      loginPage(
        c.req.query('expired') !== undefined
          ? notice('error', 'Your session expired or was revoked: log in again.')
          : undefined,
      ),
    ),
  );
  app.post('/login', async (c) => {
    if (!sameOrigin(c)) return c.html(loginPage(notice('error', 'Log in from this server’s own page.')), 403);
    const form = await c.req.parseBody();
    try {
      const session = await login(kernel, field(form, 'key'), { readOnly: form['readOnly'] === '1' });
      setSessionCookie(c, session);
      return c.redirect('/ui', 303);
    } catch (error) {
      const e = coerceError(error);
      return c.html(
        loginPage(notice('error', html`<code>${e.code}</code> ${e.message}`)),
        e.httpStatus === 401 ? 401 : 400,
      );
    }
  });
  app.post('/logout', requireSession(kernel), requireCsrf(), async (c) => {
    const principal = c.get('principal');
    if (principal.tokenJti !== undefined && getCookie(c, SESSION_COOKIE)) {
      // A read-only session may not hold kernel.tokens.revoke; the cookie is cleared either way.
      await kernel
        .call('kernel.tokens.revoke', { jti: principal.tokenJti, reason: 'dashboard logout' }, { principal })
        .catch(() => undefined);
    }
    clearSessionCookie(c);
    return c.redirect('/ui/login', 303);
  });
}
