/**
 * The shop's staging site and an agent's look at it. The site is a small HTTP server on loopback,
 * in the demo's parent process, with a page per issue showing the corrected total once the fix
 * is deployed there. The agent checks it in a headless Chromium session (`browser.*`, limited to
 * the site's origin): opens the page, reads it, takes a screenshot (stored by SHA-256 in the
 * session's action log, readable with `browser.shot`), and closes the session.
 */
import { createServer, type Server } from 'node:http';
import { isStrataError } from '../../src/kernel/index.ts';
import type { WorkflowContext } from '../../src/orchestration/index.ts';
import type { Issue } from './issues.ts';

/** Serves `/issue/<number>` for the seeded issues; resolves with the origin once listening. */
export async function startStaging(issues: readonly Issue[]): Promise<{ origin: string; server: Server }> {
  const byNumber = new Map(issues.map((i) => [String(i.number), i]));
  const server = createServer((req, res) => {
    const issue = byNumber.get(/^\/issue\/(\d+)$/.exec(req.url ?? '')?.[1] ?? '');
    if (!issue) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html lang="en"><head><title>Shop staging: #${issue.number}</title><link rel="icon" href="data:,"></head>` +
        `<body><h1>Order for issue #${issue.number}</h1><p id="total">Total: ${issue.charged - 1} cents</p></body></html>`,
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

interface Action {
  sessionId: string;
  screenshot: { sha256: string } | null;
}

/**
 * Every session slot of the process is taken: back-pressure, not a fault (the browser layer says
 * so with E_RATE_LIMITED and data.maxSessions; its message is checked too, as the data may not
 * survive every path).
 */
const full = (error: unknown): boolean =>
  isStrataError(error) &&
  error.code === 'E_RATE_LIMITED' &&
  (typeof (error.data as { maxSessions?: unknown } | undefined)?.maxSessions === 'number' ||
    /already runs \d+ browser sessions/.test(error.message));

/**
 * Opens a session on the issue's page, waiting for a free slot: each call waits up to 5 s in the
 * pool's queue (waitMs), then the run sleeps a second durably and asks again, up to about two minutes.
 */
async function openWhenFree(ctx: WorkflowContext, origin: string, issue: Issue): Promise<string> {
  for (let waited = 0; ; waited++) {
    try {
      const opened = await ctx.syscall<{ session: { id: string } }>('browser.open', {
        allowUrls: [origin],
        url: `${origin}/issue/${issue.number}`,
        waitMs: 5_000,
      });
      return opened.session.id;
    } catch (error) {
      if (!full(error) || waited >= 20) throw error;
      await ctx.sleep(1000);
    }
  }
}

/**
 * Whether staging shows the corrected total; the screenshot's digest with it. A session lives in
 * the process that opened it: a run resumed elsewhere after its worker died finds it gone
 * (E_NOT_FOUND) and opens a new one.
 */
export async function checkStaging(ctx: WorkflowContext, origin: string, issue: Issue) {
  for (let lost = 0; ; lost++) {
    const sessionId = await openWhenFree(ctx, origin, issue);
    try {
      const page = await ctx.syscall<{ text: string }>('browser.extract', { sessionId });
      const shot = await ctx.syscall<Action>('browser.screenshot', { sessionId });
      await ctx.syscall('browser.close', { sessionId });
      const ok = page.text.includes(`Total: ${issue.charged - 1} cents`);
      return { ok, screenshot: shot.screenshot?.sha256 ?? null };
    } catch (error) {
      if (!isStrataError(error) || error.code !== 'E_NOT_FOUND' || lost >= 2) throw error;
    }
  }
}
