/**
 * @module cli/commands/runs-tokens
 * The token half of `strata runs logs --follow`: prints a run's streamed model output as it comes
 * (`GET /v1/runs/:id/stream`), reconnecting with `Last-Event-ID` after a dropped connection, until
 * the stream's `done` or `signal`. A `reset` (the worker died mid-call and another resumed the run)
 * is printed as a note, since text already printed cannot be taken back. A tool call streams on a
 * line of its own, `[tool <name> <id>] ` followed by its arguments as they arrive. Best effort: the journal
 * timeline is the record; a server without the route simply prints no tokens.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Remote } from '../remote.ts';
import { sseMessages } from '../sse.ts';

const RECONNECT_MS = 500;

export async function printTokens(
  remote: Remote,
  runId: string,
  write: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  if (!remote.get) return;
  let last: string | undefined;
  let inCall: string | undefined; // `<seq>.<index>` of the tool call being printed
  const endCall = (): void => {
    if (inCall !== undefined) write('\n');
    inCall = undefined;
  };
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = last === undefined ? {} : { 'last-event-id': last };
      const response = await remote.get(`/v1/runs/${encodeURIComponent(runId)}/stream`, headers, signal);
      if (!response.ok || !response.body) return;
      for await (const message of sseMessages(response.body)) {
        if (message.id !== undefined) last = message.id;
        if (message.event === 'done') return endCall();
        if (message.event === 'reset') {
          endCall();
          write('\n[the call restarted on another attempt; text above is discarded]\n');
        }
        if (message.event === 'delta') {
          endCall();
          write((JSON.parse(message.data) as { text: string }).text);
        }
        if (message.event === 'tool_call_delta') {
          const { seq, toolCall } = JSON.parse(message.data) as {
            seq: number;
            toolCall: { index: number; id?: string; name?: string; arguments: string };
          };
          const key = `${seq}.${toolCall.index}`;
          if (key !== inCall) {
            endCall();
            write(`\n[tool ${toolCall.name ?? '?'}${toolCall.id ? ` ${toolCall.id}` : ''}] `);
            inCall = key;
          }
          write(toolCall.arguments);
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    await sleep(RECONNECT_MS, undefined, { signal }).catch(() => undefined);
  }
}
