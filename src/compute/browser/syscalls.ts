/**
 * @module compute/browser/syscalls
 * Browser sessions as syscalls — `browser.open`, `goto`, `click`, `fill`, `press`, `extract`,
 * `screenshot`, `close`, `list`, `log`, `shot` — so every page an agent opens is capability-checked,
 * audited and metered like any other action, and reachable over HTTP, MCP, the CLI and from runs.
 *
 * Resources: `browser/new` to open an ephemeral session, `browser/profiles/<name>` to open one on a
 * persistent profile, `browser/<sessionId>` for everything on a session, `browser` for the listing.
 * The tenant comes from the caller, so another tenant's session is E_NOT_FOUND. `fill` values are
 * marked secret: audit entries, logs and traces show them redacted, and the action log keeps only
 * their length.
 */
import { z } from 'zod';
import { defineSyscall, erase, secret, type SyscallDefinition } from '../../kernel/syscalls/define.ts';
import type { ActionResult } from './session-types.ts';
import type { BrowserSessions } from './sessions.ts';

const sessionId = z.string().min(1).max(100);
const timeoutMs = z.number().int().min(1).max(60_000).optional();
const selector = z.string().min(1).max(2_000);
const url = z.string().min(1).max(8_192);
/** Each action may take its own timeout plus a screenshot and a store write. */
const ACTION_SYSCALL_TIMEOUT_MS = 90_000;
/** A slot wait plus a navigation's own timeout (at most 60 s) stay within the syscall's 90 s. */
const MAX_SLOT_WAIT_MS = 20_000;

const screenshotRef = z.object({ sha256: z.string(), bytes: z.number() }).nullable();
const actionResult = z.object({
  sessionId: z.string(),
  seq: z.number(),
  url: z.string(),
  title: z.string(),
  status: z.number().optional(),
  screenshot: screenshotRef,
});

const sessionInfo = z.object({
  id: z.string(),
  tenantId: z.string(),
  status: z.enum(['open', 'closed']),
  allowUrls: z.array(z.string()),
  profile: z.string().nullable(),
  createdAt: z.number(),
  closedAt: z.number().nullable(),
  closeReason: z.string().nullable(),
  actions: z.number(),
  live: z.boolean(),
});

const actionRecord = z.object({
  seq: z.number(),
  kind: z.string(),
  detail: z.record(z.string(), z.unknown()),
  ok: z.boolean(),
  url: z.string().nullable(),
  title: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  screenshot: z.string().nullable(),
  durationMs: z.number(),
  at: z.number(),
});

const onSession = (input: { sessionId: string }): string => `browser/${input.sessionId}`;

/** Drops Buffers etc. that the output schema does not name. */
const plain = (result: ActionResult): ActionResult => ({
  sessionId: result.sessionId,
  seq: result.seq,
  url: result.url,
  title: result.title,
  ...(result.status === undefined ? {} : { status: result.status }),
  screenshot: result.screenshot,
});

export function browserSyscalls(browsers: BrowserSessions): SyscallDefinition<unknown, unknown>[] {
  return [
    erase(
      defineSyscall({
        name: 'browser.open',
        description:
          'Opens a headless Chromium session limited to allowUrls (patterns like https://example.com or https://*.example.com/docs/*); with persistentContext, on a named profile whose cookies and storage survive; with url, navigates there first. When every session slot of the server is taken it answers E_RATE_LIMITED (retryAfterMs), or with waitMs waits up to that long for one to free.',
        input: z
          .object({
            allowUrls: z.array(z.string().min(1).max(2_000)).min(1).max(100),
            persistentContext: z.string().min(1).max(64).optional(),
            url: url.optional(),
            timeoutMs,
            /** Wait this long for a free session slot when the server's are all taken. */
            waitMs: z.number().int().min(0).max(MAX_SLOT_WAIT_MS).optional(),
          })
          .strict(),
        output: z.object({ session: sessionInfo, navigation: actionResult.optional() }),
        idempotency: 'unsafe',
        timeoutMs: ACTION_SYSCALL_TIMEOUT_MS,
        resource: (input) =>
          input.persistentContext === undefined
            ? 'browser/new'
            : `browser/profiles/${input.persistentContext}`,
        handler: async (input, ctx) => {
          const session = await browsers.openSession({
            tenantId: ctx.tenantId,
            principal: ctx.principal.id,
            allowUrls: input.allowUrls,
            ...(input.persistentContext === undefined ? {} : { persistentContext: input.persistentContext }),
            ...(input.waitMs === undefined ? {} : { waitMs: input.waitMs }),
          });
          if (input.url === undefined) return { session };
          const ref = { tenantId: ctx.tenantId, sessionId: session.id };
          try {
            const navigation = await browsers.goto({ ...ref, url: input.url, timeoutMs: input.timeoutMs });
            return { session, navigation: plain(navigation) };
          } catch (error) {
            // The caller never learns this session's id: left open, it held a slot until the idle
            // timeout (5 min), and a busy server ran out of sessions (the demo at 50 agents did).
            await browsers.closeSession(ref).catch(() => undefined);
            throw error;
          }
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'browser.goto',
        description:
          'Navigates the session to a URL and waits for it to load; E_URL_NOT_ALLOWED if it, or a redirect it causes, is outside the allow-list.',
        input: z.object({ sessionId, url, timeoutMs }).strict(),
        output: actionResult,
        idempotency: 'unsafe',
        timeoutMs: ACTION_SYSCALL_TIMEOUT_MS,
        resource: onSession,
        handler: async (input, ctx) => plain(await browsers.goto({ tenantId: ctx.tenantId, ...input })),
      }),
    ),
    erase(
      defineSyscall({
        name: 'browser.click',
        description:
          'Clicks the first element matching a Playwright selector (CSS, text=…, role=…) and waits for a navigation it starts; E_SELECTOR_TIMEOUT if none appears in time.',
        input: z.object({ sessionId, selector, timeoutMs }).strict(),
        output: actionResult,
        idempotency: 'unsafe',
        timeoutMs: ACTION_SYSCALL_TIMEOUT_MS,
        resource: onSession,
        handler: async (input, ctx) => plain(await browsers.click({ tenantId: ctx.tenantId, ...input })),
      }),
    ),
    erase(
      defineSyscall({
        name: 'browser.fill',
        description:
          'Fills an input, textarea or contenteditable matching the selector with a value (redacted from audit, logs and the action log).',
        input: z.object({ sessionId, selector, value: secret(z.string().max(100_000)), timeoutMs }).strict(),
        output: actionResult,
        idempotency: 'idempotent',
        timeoutMs: ACTION_SYSCALL_TIMEOUT_MS,
        resource: onSession,
        handler: async (input, ctx) => plain(await browsers.fill({ tenantId: ctx.tenantId, ...input })),
      }),
    ),
    erase(
      defineSyscall({
        name: 'browser.press',
        description:
          'Presses a key or chord (Enter, Tab, Control+A) in the element matching selector, or in the focused element.',
        input: z
          .object({ sessionId, key: z.string().min(1).max(100), selector: selector.optional(), timeoutMs })
          .strict(),
        output: actionResult,
        idempotency: 'unsafe',
        timeoutMs: ACTION_SYSCALL_TIMEOUT_MS,
        resource: onSession,
        handler: async (input, ctx) => plain(await browsers.press({ tenantId: ctx.tenantId, ...input })),
      }),
    ),
    erase(
      defineSyscall({
        name: 'browser.extract',
        description:
          'Returns the page as Markdown-ish plain text (headings, lists, [links](href), form fields) and its links.',
        input: z
          .object({ sessionId, maxChars: z.number().int().min(1).max(1_000_000).optional(), timeoutMs })
          .strict(),
        output: actionResult.extend({
          text: z.string(),
          links: z.array(z.object({ text: z.string(), href: z.string() })),
          truncated: z.boolean(),
        }),
        idempotency: 'idempotent',
        timeoutMs: ACTION_SYSCALL_TIMEOUT_MS,
        resource: onSession,
        handler: async (input, ctx) => {
          const result = await browsers.extract({ tenantId: ctx.tenantId, ...input });
          return {
            ...plain(result),
            text: result.text,
            links: [...result.links],
            truncated: result.truncated,
          };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'browser.screenshot',
        description:
          'Takes a PNG screenshot (viewport, or fullPage), stores it in the action log; with inline, returns it base64-encoded.',
        input: z
          .object({ sessionId, fullPage: z.boolean().optional(), inline: z.boolean().optional(), timeoutMs })
          .strict(),
        output: actionResult.extend({ width: z.number(), height: z.number(), png: z.string().optional() }),
        idempotency: 'idempotent',
        timeoutMs: ACTION_SYSCALL_TIMEOUT_MS,
        resource: onSession,
        handler: async (input, ctx) => {
          const { inline, ...rest } = input;
          const shot = await browsers.screenshot({ tenantId: ctx.tenantId, ...rest });
          return {
            ...plain(shot),
            width: shot.width,
            height: shot.height,
            ...(inline === true ? { png: shot.png.toString('base64') } : {}),
          };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'browser.close',
        description:
          'Closes a session (its action log and screenshots stay retrievable); a closed one is a no-op.',
        input: z.object({ sessionId }).strict(),
        output: sessionInfo,
        idempotency: 'idempotent',
        timeoutMs: ACTION_SYSCALL_TIMEOUT_MS,
        resource: onSession,
        handler: (input, ctx) =>
          browsers.closeSession({ tenantId: ctx.tenantId, sessionId: input.sessionId }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'browser.list',
        description:
          'Lists the caller tenant’s browser sessions, newest first; live says whether it runs here.',
        input: z
          .object({
            status: z.enum(['open', 'closed']).optional(),
            limit: z.number().int().min(1).max(1000).optional(),
          })
          .strict(),
        output: z.object({ sessions: z.array(sessionInfo) }),
        idempotency: 'pure',
        resource: () => 'browser',
        handler: async (input, ctx) => ({ sessions: await browsers.list(ctx.tenantId, input) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'browser.log',
        description:
          'Returns a session and its action log: every action in order with its outcome, URL, title, duration and screenshot hash.',
        input: z.object({ sessionId }).strict(),
        output: z.object({ session: sessionInfo, actions: z.array(actionRecord) }),
        idempotency: 'pure',
        resource: onSession,
        handler: (input, ctx) => browsers.actions({ tenantId: ctx.tenantId, sessionId: input.sessionId }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'browser.shot',
        description:
          'Returns a stored screenshot of a session, base64 PNG: of action seq, by sha256, or the latest.',
        input: z
          .object({
            sessionId,
            seq: z.number().int().min(1).optional(),
            sha256: z
              .string()
              .regex(/^[0-9a-f]{64}$/)
              .optional(),
          })
          .strict(),
        output: z.object({ seq: z.number(), sha256: z.string(), png: z.string() }),
        idempotency: 'pure',
        resource: onSession,
        handler: async (input, ctx) => {
          const shot = await browsers.shot({ tenantId: ctx.tenantId, ...input });
          return { seq: shot.seq, sha256: shot.sha256, png: shot.png.toString('base64') };
        },
      }),
    ),
  ];
}
