/**
 * @module server/run-stream
 * `GET /v1/runs/:id/stream`: a run's model output as Server-Sent Events while it runs. Events:
 * `delta` (`{seq, attempt, delta, text}`), `tool_call_delta` (`{seq, attempt, delta, toolCall: {index,
 * id?, name?, arguments}}`: a tool call as it streams, id and name on its first piece, then more
 * arguments text), `reset` (`{seq, attempt}`: a new attempt at that journal position; discard the
 * partial text and tool calls of earlier ones) and, when the run is terminal, one `done`
 * (`{status, text, output, error}`: `text` is the journaled final answer) after which the stream
 * ends. Event ids are `<seq>.<attempt>.<delta>`; a client resumes with `Last-Event-ID` (or
 * `?after=`) and gets exactly the retained events after it (see orchestration/streaming).
 *
 * Access is checked once through the kernel as `runs.get` (the caller must be allowed to read the
 * run, and it must be in the caller's tenant); later reads go to the store directly, woken by this
 * process's new events and by polling (events written by workers in other processes).
 */
import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Kernel } from '../kernel/index.ts';
import {
  eventId,
  parseCursor,
  TERMINAL,
  type Engine,
  type Run,
  type RunStreams,
} from '../orchestration/index.ts';
import { sseWaker } from './sse-waker.ts';
import type { AppEnv } from './types.ts';

const PAGE = 200;

export interface RunStreamRoutesOptions {
  readonly kernel: Kernel;
  readonly engine: Engine;
  readonly streams: RunStreams;
  /** How often the store is read without a wake-up. @default 250 */
  readonly pollMs?: number;
  /** Idle time before a `: ping` comment. @default 15 000 */
  readonly heartbeatMs?: number;
}

/** The final answer of a run: its output's `text` (an agent's), else none. */
function finalText(run: Run): string | null {
  const output = run.output as { text?: unknown } | null | undefined;
  return typeof output?.text === 'string' ? output.text : null;
}

export function runStreamRoutes(options: RunStreamRoutesOptions): Hono<AppEnv> {
  const { kernel, engine, streams } = options;
  const pollMs = options.pollMs ?? 250;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const app = new Hono<AppEnv>();
  app.get('/runs/:id/stream', async (c) => {
    const principal = c.get('principal');
    const runId = c.req.param('id');
    let after = parseCursor(c.req.header('last-event-id') ?? c.req.query('after'));
    await kernel.call('runs.get', { runId }, { principal });
    return streamSSE(c, async (stream) => {
      await stream.write(': connected\n\n');
      const waker = sseWaker();
      const unsubscribe = streams.onAppended((id) => id === runId && waker.poke());
      stream.onAbort(() => waker.stop());
      let lastWrite = Date.now();
      const drain = async (): Promise<number> => {
        const events = await streams.list(runId, after, PAGE);
        for (const e of events) {
          const data =
            e.type === 'reset'
              ? { seq: e.seq, attempt: e.attempt }
              : e.type === 'tool_call_delta'
                ? { seq: e.seq, attempt: e.attempt, delta: e.delta, toolCall: e.toolCall }
                : e;
          await stream.writeSSE({ id: eventId(e), event: e.type, data: JSON.stringify(data) });
          after = e;
          lastWrite = Date.now();
        }
        return events.length;
      };
      try {
        while (!stream.aborted) {
          if ((await drain()) === PAGE) continue;
          const run = await engine.get(principal.tenantId, runId);
          if (TERMINAL.has(run.status)) {
            // Deltas are stored before the model call returns, so before the run ends: read once more.
            while ((await drain()) === PAGE);
            await writeDone(stream, run);
            return;
          }
          if (Date.now() - lastWrite >= heartbeatMs) {
            await stream.write(': ping\n\n');
            lastWrite = Date.now();
          }
          await waker.idle(pollMs);
        }
      } finally {
        unsubscribe();
      }
    });
  });
  return app;
}

async function writeDone(stream: SSEStreamingApi, run: Run): Promise<void> {
  const data = { status: run.status, text: finalText(run), output: run.output ?? null, error: run.error };
  await stream.writeSSE({ event: 'done', data: JSON.stringify(data) });
}
