/**
 * @module web/dashboard
 * The operator dashboard, mounted at `/ui` on the same server as `/v1`: pages rendered on the server
 * from the same syscalls the CLI and the HTTP API call, as the logged-in operator, so every read and
 * every action is capability-checked and audited by the kernel like any other call.
 *
 * Every response carries a strict Content-Security-Policy (`default-src 'self'`: no inline script or
 * style, no other origin, no framing), `nosniff` and `no-referrer`; pages are `no-store` (they show
 * tenant data). Writes need the session's CSRF token and this origin (session.ts).
 *
 * Live updates: each page holds one stream, `GET /ui/live` (live-view.ts), on which the server pushes
 * the page's view and badge again whenever an event touches them. `GET /ui/events` is the raw
 * `/v1/events` stream (server/events-stream.ts) authenticated by the session cookie instead of a
 * bearer header, since a browser's EventSource cannot send one (for scripts of the operator's own).
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { html } from 'hono/html';
import { coerceError, type Kernel } from '../kernel/index.ts';
import type { Engine, RunStreams } from '../orchestration/index.ts';
import { eventStreamRoutes } from '../server/events-stream.ts';
import { runStreamRoutes } from '../server/run-stream.ts';
import { assetRoutes } from './assets.ts';
import { liveViewRoutes } from './live-view.ts';
import { loginRoutes } from './login.ts';
import { requireCsrf, requireSession, type DashboardEnv } from './session.ts';
import { approvalsView, safeBack } from './views/approvals.ts';
import { auditView } from './views/audit.ts';
import { field } from './views/common.ts';
import { costsView } from './views/costs.ts';
import { fleetView } from './views/fleet.ts';
import { layersView } from './views/layers.ts';
import { mergeQueueView } from './views/merge-queue.ts';
import { needsYouCountRoute, needsYouView } from './views/needs-you.ts';
import { reliabilityView } from './views/reliability.ts';
import { runDetailView } from './views/run-detail.ts';
import { runsView } from './views/runs.ts';
import { treeView } from './views/tree.ts';

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/** One-click actions a dashboard form may post to /ui/act; anything else is refused before the kernel. */
const ACTIONS = new Set(['runs.cancel', 'runs.retry', 'mq.resume', 'runs.budget_pauses.resolve']);

export interface DashboardOptions {
  readonly kernel: Kernel;
  /** With them, a running run's page shows its model output as it streams (`/ui/runs/:id/stream`). */
  readonly runs?: { readonly engine: Engine; readonly streams: RunStreams };
}

const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['Content-Security-Policy', CONTENT_SECURITY_POLICY],
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'no-referrer'],
  ['X-Frame-Options', 'DENY'],
];

/**
 * Set before the handler runs, so that the response it builds (c.html, c.body, c.redirect) carries
 * them; a handler may still set its own Cache-Control. Set after it, as this did before, each header
 * rebuilt the finished response, and the first rebuild turned @hono/node-server's plain-string
 * response into a streamed one: a cached live fragment cost 0.49 ms of CPU per request, most of it
 * there. A response not built from the context (one made by hand) is given them afterwards.
 */
const securityHeaders: MiddlewareHandler = async (c, next) => {
  for (const [name, value] of SECURITY_HEADERS) c.header(name, value);
  c.header('Cache-Control', 'no-store');
  await next();
  if (c.res.headers.has('Content-Security-Policy')) return;
  for (const [name, value] of SECURITY_HEADERS) c.header(name, value);
  if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
};

/** A banner on every page while fault injection is on (when the runtime has it). */
function chaosBanner(kernel: Kernel): MiddlewareHandler<DashboardEnv> {
  return async (c, next) => {
    // Full pages only: a live fragment re-render does not show the banner.
    if (c.req.header('hx-request') !== 'true' && kernel.registry.has('chaos.status')) {
      const status = await kernel
        .call<{ enabled: boolean; config: { seed?: number } }>(
          'chaos.status',
          {},
          { principal: c.get('principal') },
        )
        .catch(() => undefined);
      if (status?.enabled)
        c.set(
          'banner',
          html`Fault injection is on (seed ${status.config.seed ?? '?'}): failures you see may be injected.`,
        );
    }
    await next();
  };
}

export function dashboardRoutes(options: DashboardOptions): Hono {
  const { kernel } = options;
  const app = new Hono<DashboardEnv>();
  app.use('*', securityHeaders);
  app.get('/', (c) => c.redirect('/ui', 302));
  const ui = new Hono<DashboardEnv>();
  assetRoutes(ui);
  loginRoutes(ui, kernel);
  ui.use('*', requireSession(kernel));
  // A page re-renders at most every 250 ms (assets/app.js): its stream need not wake more often
  // than every 50 ms, which spares a busy fleet's open dashboards half their outbox reads.
  ui.route('/', eventStreamRoutes({ kernel, coalesceMs: 50 }) as unknown as Hono<DashboardEnv>);
  // Each page's live stream: its renders are this app's own routes, called in process.
  ui.route(
    '/',
    liveViewRoutes({ kernel, fetchView: (url, init) => Promise.resolve(app.request(url, init)) }),
  );
  needsYouCountRoute(ui, kernel); // before the chaos banner: a badge's count reads no chaos status
  if (options.runs)
    ui.route('/', runStreamRoutes({ kernel, ...options.runs }) as unknown as Hono<DashboardEnv>);
  ui.use('*', chaosBanner(kernel));
  needsYouView(ui, kernel);
  runsView(ui, kernel);
  runDetailView(ui, kernel);
  approvalsView(ui, kernel);
  fleetView(ui, kernel);
  treeView(ui, kernel);
  mergeQueueView(ui, kernel);
  costsView(ui, kernel);
  reliabilityView(ui, kernel);
  auditView(ui, kernel);
  layersView(ui, kernel);
  ui.post('/act', requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    const back = safeBack(form['back'], '/ui');
    const syscall = field(form, 'syscall');
    try {
      if (!ACTIONS.has(syscall)) throw new Error(`the dashboard does not offer ${syscall} as an action`);
      await kernel.call(syscall, JSON.parse(field(form, 'input', '{}')), { principal: c.get('principal') });
      return c.redirect(`${back}?done=${encodeURIComponent(`${syscall}: done`)}`, 303);
    } catch (error) {
      const e = coerceError(error);
      return c.redirect(`${back}?error=${encodeURIComponent(`${e.code}: ${e.message}`)}`, 303);
    }
  });
  app.route('/ui', ui);
  return app as unknown as Hono;
}
