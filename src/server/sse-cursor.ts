/**
 * @module server/sse-cursor
 * The resume cursor of an SSE route whose event ids are seqs: `Last-Event-ID`, else the route's
 * query parameter (`?after=`, `?since=`). Absent is `undefined`; anything but a non-negative
 * integer is E_INVALID_INPUT, so a client with a broken cursor fails instead of silently restarting.
 */
import { StrataError } from '../kernel/index.ts';

export function seqCursorOf(value: string | undefined, param: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw new StrataError('E_INVALID_INPUT', `Last-Event-ID (or ?${param}=) must be an event seq`, {
      issues: [{ path: [param], message: 'not a non-negative integer' }],
    });
  }
  return Number(value);
}
