/**
 * @module orchestration/streaming/run-streams
 * The live side channel of a run's model calls (issue 12, item 1, token streaming). While a run's
 * `model.generate` streams, its text deltas and tool-call deltas (`tool_call_delta`: the call's
 * index, id and name on its first piece, then its arguments text as it streams) are published
 * here; the journal keeps only the final result, so a replay never streams again.
 *
 * Events are keyed by (run, step seq, attempt, delta): `attempt` counts the executions of one
 * journal position (a worker that died mid-stream, then the one that resumed the run), and each new
 * attempt after the first starts with a `reset` event (delta 0) so clients discard the partial
 * output. A call made again within one execution (its stream's tool call did not parse, see
 * models/streamed) is a new attempt too. The key is also the SSE event id
 * (`<seq>.<attempt>.<delta>`), and its order is the stream's order, so a client resumes with
 * `Last-Event-ID` and gets no duplicates.
 *
 * Why a table and not LISTEN/NOTIFY alone: a client that reconnects (to this process or another)
 * must be able to read what it missed, NOTIFY is fire-and-forget, PostgreSQL-only and limited to
 * 8 kB, and the embedded default is SQLite. Rows live for `retentionMs` only (a short window for
 * reconnects, not a history). Readers in this process are woken by an EventEmitter; readers in
 * other processes poll (the SSE route).
 */
import { EventEmitter } from 'node:events';
import { StrataError, systemClock, type Clock, type Migration, type Store } from '../../kernel/index.ts';
import type { DeltaPublisher, DeltaSinkLike, StreamDelta } from '../../models/index.ts';

/** A tool call as it streams: `id` and `name` on its first piece, then more `arguments` text. */
export type ToolCallPiece = Omit<Extract<StreamDelta, { type: 'tool_call_delta' }>, 'type'>;

export const STREAM_LAYER = 'orchestration_stream';

export const streamMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'run stream events',
    up: `CREATE TABLE orch_stream_events (
      run_id TEXT NOT NULL, seq INTEGER NOT NULL, attempt INTEGER NOT NULL, delta INTEGER NOT NULL,
      type TEXT NOT NULL, text TEXT NOT NULL, created_at BIGINT NOT NULL,
      PRIMARY KEY (run_id, seq, attempt, delta));
    CREATE INDEX orch_stream_events_created ON orch_stream_events (created_at);`,
  },
  {
    version: 2,
    name: 'tool-call deltas on the run stream',
    // The piece as JSON; `text` holds '' for these rows.
    up: 'ALTER TABLE orch_stream_events ADD COLUMN tool_call TEXT',
  },
];

/** Where a reader is in a run's stream: the key of the last event it has. */
export interface StreamCursor {
  readonly seq: number;
  readonly attempt: number;
  readonly delta: number;
}

export interface StreamEvent extends StreamCursor {
  /**
   * `delta`: text; `tool_call_delta`: a piece of a tool call (`toolCall`); `reset`: discard the
   * partial output (text and tool calls) of earlier attempts at this seq.
   */
  readonly type: 'delta' | 'reset' | 'tool_call_delta';
  /** The delta's text ('' for `reset` and `tool_call_delta`). */
  readonly text: string;
  /** Present on `tool_call_delta` only. */
  readonly toolCall?: ToolCallPiece;
}

type EventRow = StreamCursor & { type: StreamEvent['type']; text: string; tool_call: string | null };

const eventOf = (r: EventRow): StreamEvent => ({
  seq: Number(r.seq),
  attempt: Number(r.attempt),
  delta: Number(r.delta),
  type: r.type,
  text: r.text,
  ...(r.tool_call === null ? {} : { toolCall: JSON.parse(r.tool_call) as ToolCallPiece }),
});

export interface RunStreamsOptions {
  readonly store: Store;
  readonly clock?: Clock;
  /** How long events stay readable for reconnecting clients. @default 600 000 (10 min) */
  readonly retentionMs?: number;
}

export const eventId = (c: StreamCursor): string => `${c.seq}.${c.attempt}.${c.delta}`;

/** Parses a `Last-Event-ID` (or `?after=`); undefined when absent. */
export function parseCursor(value: string | undefined): StreamCursor | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})$/.exec(value);
  if (!match)
    throw new StrataError(
      'E_INVALID_INPUT',
      'Last-Event-ID (or ?after=) must be an event id <seq>.<attempt>.<delta>',
      {
        issues: [{ path: ['after'], message: 'not an event id' }],
      },
    );
  return { seq: Number(match[1]), attempt: Number(match[2]), delta: Number(match[3]) };
}

/** The journal position in a run's idempotency key (`<runId>:<seq>`), or undefined. */
function seqOf(runId: string, idempotencyKey: string): number | undefined {
  if (!idempotencyKey.startsWith(`${runId}:`)) return undefined;
  const seq = Number(idempotencyKey.slice(runId.length + 1));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}

export class RunStreams implements DeltaPublisher {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #retentionMs: number;
  readonly #appended = new EventEmitter().setMaxListeners(0);
  #prunedAt = 0;

  private constructor(options: RunStreamsOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#retentionMs = options.retentionMs ?? 600_000;
  }

  static async open(options: RunStreamsOptions): Promise<RunStreams> {
    await options.store.migrate(STREAM_LAYER, streamMigrations);
    return new RunStreams(options);
  }

  /**
   * The sink for one model call made by a run (the `model.generate` handler's publisher), or
   * undefined when the call is not a run's journaled call. Storing is best-effort: a failure to
   * publish never fails the model call, whose result is journaled as usual.
   */
  open(call: { runId: string; idempotencyKey: string }): DeltaSinkLike | undefined {
    const seq = seqOf(call.runId, call.idempotencyKey);
    if (seq === undefined) return undefined;
    const { runId } = call;
    let attempt = 0;
    let delta = 0;
    let tail: Promise<void> = this.#begin(runId, seq).then(
      (n) => {
        attempt = n;
      },
      () => undefined,
    );
    // Events keep their call order: each is stored after the one before it.
    const publish = (event: Pick<StreamEvent, 'type' | 'text' | 'toolCall'>): void => {
      tail = tail.then(async () => {
        if (attempt === 0) return; // could not begin: this call is not streamed
        await this.#insert(runId, { seq, attempt, delta: ++delta, ...event }).catch(() => undefined);
      });
    };
    return {
      text: (text) => publish({ type: 'delta', text }),
      toolCall: (piece) => publish({ type: 'tool_call_delta', text: '', toolCall: piece }),
      // The call is made again in this execution (a malformed tool call): a new attempt, as a
      // resumed run's would be, so clients discard the partial output they have.
      reset: () => {
        tail = tail.then(async () => {
          if (attempt === 0) return;
          attempt++;
          delta = 0;
          await this.#insert(runId, { seq, attempt, delta: 0, type: 'reset', text: '' }).catch(
            () => undefined,
          );
        });
      },
      close: () => tail,
    };
  }

  /** Events of a run after `after` (all retained ones without it), in stream order. */
  async list(runId: string, after: StreamCursor | undefined, limit: number): Promise<StreamEvent[]> {
    const c = after ?? { seq: 0, attempt: 0, delta: 0 };
    const rows = await this.#store.all<EventRow & Record<string, string | number | null>>(
      `SELECT seq, attempt, delta, type, text, tool_call FROM orch_stream_events
       WHERE run_id = ? AND (seq > ? OR (seq = ? AND attempt > ?) OR (seq = ? AND attempt = ? AND delta > ?))
       ORDER BY seq, attempt, delta LIMIT ?`,
      [runId, c.seq, c.seq, c.attempt, c.seq, c.attempt, c.delta, limit],
    );
    return rows.map(eventOf);
  }

  /** Calls `listener(runId)` after events of a run are stored by this process; returns the unsubscribe. */
  onAppended(listener: (runId: string) => void): () => void {
    this.#appended.on('appended', listener);
    return () => this.#appended.off('appended', listener);
  }

  /** Takes the next attempt at (run, seq); an attempt after the first starts with a `reset`. */
  async #begin(runId: string, seq: number): Promise<number> {
    await this.#prune();
    const last = await this.#store.get<{ attempt: number | null }>(
      'SELECT MAX(attempt) AS attempt FROM orch_stream_events WHERE run_id = ? AND seq = ?',
      [runId, seq],
    );
    const attempt = Number(last?.attempt ?? 0) + 1;
    if (attempt > 1) await this.#insert(runId, { seq, attempt, delta: 0, type: 'reset', text: '' });
    return attempt;
  }

  async #insert(runId: string, e: StreamEvent): Promise<void> {
    await this.#store.run(
      `INSERT INTO orch_stream_events (run_id, seq, attempt, delta, type, text, tool_call, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        runId,
        e.seq,
        e.attempt,
        e.delta,
        e.type,
        e.text,
        e.toolCall ? JSON.stringify(e.toolCall) : null,
        this.#clock.now(),
      ],
    );
    this.#appended.emit('appended', runId);
  }

  /** Drops events past retention, at most once a minute. */
  async #prune(): Promise<void> {
    const now = this.#clock.now();
    if (now - this.#prunedAt < 60_000) return;
    this.#prunedAt = now;
    await this.#store.run('DELETE FROM orch_stream_events WHERE created_at < ?', [now - this.#retentionMs]);
  }
}
