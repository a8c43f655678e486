/**
 * @module compute/browser/errors
 * Playwright's failures turned into Strata codes that say what went wrong and what to change:
 * a selector that matched nothing in time is E_SELECTOR_TIMEOUT naming the selector, a malformed
 * selector E_INVALID_INPUT, a page that would not load E_NAVIGATION_FAILED naming the URL.
 */
import { isStrataError, StrataError } from '../../kernel/index.ts';

export interface ActionContext {
  readonly kind: string;
  readonly selector?: string;
  readonly url?: string;
  readonly timeoutMs: number;
}

const SELECTOR_SYNTAX =
  /Unexpected token|is not a valid selector|Unknown engine|Error while parsing selector/i;
const CLOSED = /Target page, context or browser has been closed|Target closed|has been closed/i;

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? message).replace(/^\w+\.\w+: /, '');
}

export function browserError(error: unknown, action: ActionContext): StrataError {
  if (isStrataError(error)) return error;
  const name = error instanceof Error ? error.name : '';
  const message = firstLine(error);
  if (action.selector !== undefined && SELECTOR_SYNTAX.test(message)) {
    return new StrataError('E_INVALID_INPUT', `selector "${action.selector}" is not valid: ${message}`, {
      issues: [{ path: 'selector', message }],
      selector: action.selector,
    });
  }
  if (name === 'TimeoutError' && action.selector !== undefined) {
    return new StrataError(
      'E_SELECTOR_TIMEOUT',
      `${action.kind}: no actionable element matched selector "${action.selector}" within ${action.timeoutMs} ms`,
      { selector: action.selector, timeoutMs: action.timeoutMs },
    );
  }
  if (action.url !== undefined && (name === 'TimeoutError' || /net::ERR_/.test(message))) {
    const reason = name === 'TimeoutError' ? `did not load within ${action.timeoutMs} ms` : message;
    return new StrataError('E_NAVIGATION_FAILED', `cannot load ${action.url}: ${reason}`, {
      url: action.url,
      reason,
    });
  }
  if (name === 'TimeoutError') {
    return new StrataError(
      'E_SYSCALL_TIMEOUT',
      `${action.kind} did not finish within ${action.timeoutMs} ms`,
      {
        timeoutMs: action.timeoutMs,
      },
    );
  }
  if (CLOSED.test(message)) {
    return new StrataError('E_CONFLICT', `${action.kind}: the browser session was closed meanwhile`, {
      state: 'closed',
    });
  }
  if (action.selector !== undefined) {
    return new StrataError('E_INVALID_INPUT', `${action.kind} on "${action.selector}" failed: ${message}`, {
      selector: action.selector,
      issues: [{ path: 'selector', message }],
    });
  }
  return new StrataError('E_INTERNAL', `${action.kind} failed: ${message}`, undefined, { cause: error });
}
