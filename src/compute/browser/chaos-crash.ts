/**
 * @module compute/browser/chaos-crash
 * Realises chaos's `browser_crash` fault (kernel/chaos) with a real crash: the Chromium process
 * hosting the session is SIGKILLed just as the action starts. Playwright sees the process die, the
 * action fails as it does when Chromium really dies ("Target page, context or browser has been
 * closed", E_CONFLICT with `state: closed`), the context's close marks the session `crashed`, and
 * the pool launches a fresh Chromium for the next session.
 *
 * Ephemeral sessions share one Chromium process, so — as in a real crash — every session on it is
 * lost with this one; a persistent-profile session has a process of its own.
 */
import type { BrowserContext } from 'playwright-core';

interface ProcessInfo {
  readonly type: string;
  readonly id: number;
}

/** SIGKILLs the Chromium browser process that runs `context` (found over CDP). */
export async function crashBrowserOf(context: BrowserContext): Promise<void> {
  const browser = context.browser();
  if (browser === null) {
    // No browser object to ask for its process: losing the context is the closest real failure.
    await context.close();
    return;
  }
  const cdp = await browser.newBrowserCDPSession();
  const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: ProcessInfo[] };
  const pid = processInfo.find((p) => p.type === 'browser')?.id;
  if (pid === undefined) throw new Error('Chromium reported no browser process');
  process.kill(pid, 'SIGKILL');
}
