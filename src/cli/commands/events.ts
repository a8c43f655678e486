/**
 * @module cli/commands/events
 * `strata events watch [--topics run:*] [--since N] [-o text|jsonl]`: the tenant's kernel events as
 * they happen, from `GET /v1/events` on a running server, one line per event, until Ctrl-C (exit 0).
 *
 * Text lines are `<time>  <seq>  <topic>  <payload JSON>`: the time of day on a terminal, a full ISO
 * timestamp otherwise (logs, pipes). `-o jsonl` (or `--json`) prints each event as one JSON object
 * per line. A `reset` (the cursor fell out of the outbox, events were skipped) is printed as such a
 * line too. A dropped connection is resumed from the last seq printed (`Last-Event-ID`), so nothing
 * is printed twice or skipped; if the server stays unreachable for 30 s the command fails with
 * E_UNAVAILABLE. A refused request exits with its error's code (E_INVALID_INPUT for a bad
 * `--topics`, E_CAPABILITY_DENIED without the `kernel.events.read` grant).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { StrataError } from '../../kernel/errors.ts';
import { configOf, outputOf } from '../context.ts';
import { parseInteger } from '../parse.ts';
import { errorFrom, remoteOf, unreachable, type Remote } from '../remote.ts';
import { sseMessages } from '../sse.ts';

const RECONNECT_MS = 500;
const TOLERATE_UNAVAILABLE_MS = 30_000;

interface WatchOptions {
  topics?: string;
  since?: number;
  output?: 'text' | 'jsonl';
  url?: string;
  key?: string;
}

interface Event {
  seq: number;
  topic: string;
  payload: unknown;
  ts: number;
}

/** One printed line per event (or reset); `tty` picks the short time of day. */
export function eventLine(event: Event | { reset: number }, format: 'text' | 'jsonl', tty: boolean): string {
  if ('reset' in event) {
    return format === 'jsonl'
      ? JSON.stringify({ event: 'reset', seq: event.reset })
      : `-- reset at seq ${event.reset}: events were skipped; re-read the state you watch --`;
  }
  if (format === 'jsonl') return JSON.stringify(event);
  const iso = new Date(event.ts).toISOString();
  const time = tty ? iso.slice(11, 23) : iso;
  return `${time}  ${String(event.seq).padStart(6)}  ${event.topic}  ${JSON.stringify(event.payload)}`;
}

/** Prints events until `signal`; resumes dropped connections. Throws what the server refused. */
export async function watchEvents(
  remote: Remote,
  o: { topics?: string; since?: number; format: 'text' | 'jsonl'; tty: boolean },
  write: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  if (!remote.get) throw new StrataError('E_INTERNAL', 'this remote cannot stream');
  let last = o.since === undefined ? undefined : String(o.since);
  let failingSince: number | undefined;
  const query = o.topics === undefined ? '' : `?topics=${encodeURIComponent(o.topics)}`;
  while (!signal.aborted) {
    let response: Response;
    try {
      response = await remote.get(
        `/v1/events${query}`,
        last === undefined ? {} : { 'last-event-id': last },
        signal,
      );
    } catch (cause) {
      if (signal.aborted) return;
      failingSince ??= Date.now();
      if (Date.now() - failingSince > TOLERATE_UNAVAILABLE_MS) throw unreachable(remote.url, cause);
      await sleep(RECONNECT_MS, undefined, { signal }).catch(() => undefined);
      continue;
    }
    if (!response.ok) throw errorFrom(response.status, await response.json().catch(() => null), remote.url);
    failingSince = undefined;
    if (!response.body) continue;
    try {
      for await (const message of sseMessages(response.body)) {
        if (message.id !== undefined) last = message.id;
        if (message.event === 'message') write(eventLine(JSON.parse(message.data) as Event, o.format, o.tty));
        if (message.event === 'reset')
          write(eventLine({ reset: (JSON.parse(message.data) as { seq: number }).seq }, o.format, o.tty));
      }
    } catch {
      // The connection dropped (or we were stopped): resume from `last`.
    }
    if (!signal.aborted) await sleep(RECONNECT_MS, undefined, { signal }).catch(() => undefined);
  }
}

export function registerEvents(program: Command): void {
  const events = program
    .command('events')
    .description('watch the tenant’s kernel events (run:*, …) on a running server')
    .option('--url <url>', 'server URL (env STRATA_URL; default http://127.0.0.1:<server.port>)')
    .option(
      '--key <apiKey>',
      'API key or capability token (env STRATA_API_KEY; default <dataDir>/admin.key)',
    );
  events
    .command('watch')
    .description('print events as they happen, one line each, until Ctrl-C')
    .option(
      '--topics <patterns>',
      'comma-separated topic patterns, e.g. run:*,mail:message:received (default: all)',
    )
    .option('--since <seq>', 'replay the events after this seq first', parseInteger)
    .addOption(new Option('-o, --output <format>', 'line format').choices(['text', 'jsonl']).default('text'))
    .action(async (options: WatchOptions, command: Command) => {
      const opts = command.optsWithGlobals<WatchOptions>();
      const remote = remoteOf(opts, configOf(command));
      const format = outputOf(command).json ? 'jsonl' : (options.output ?? 'text');
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      try {
        await watchEvents(
          remote,
          { topics: options.topics, since: options.since, format, tty: process.stdout.isTTY === true },
          (line) => process.stdout.write(`${line}\n`),
          stop.signal,
        );
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      }
    });
}
