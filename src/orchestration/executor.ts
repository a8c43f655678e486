/**
 * @module orchestration/executor
 * Runs one claimed run: loads its journal, replays the workflow against it, and records the outcome
 * (completed, suspended, retried with backoff, failed, cancelled). Every write is fenced on the
 * lease (`lease_owner = this worker`): a worker that lost its lease cannot record anything, so a run
 * resumed elsewhere is never written by two workers.
 */
import {
  StrataError,
  coerceError,
  isStrataError,
  type Queryable,
  type Transaction,
} from '../kernel/index.ts';
import type { CompletionBatcher } from './completions.ts';
import type { JournalBatcher } from './journal-batcher.ts';
import { takeToken } from './rate-limits.ts';
import { backoff, serializeError, Suspension, WorkflowContext, type RunPort } from './context.ts';
import type { WorkflowDefinition } from './define.ts';
import { isTransientStoreError } from './journal-entry.ts';
import { dropFailedTail, type Engine } from './engine.ts';
import { lazyAttribution } from './finops/projects.ts';
import { principalOf, toRun, type JournalRow, type RunRow } from './run-row.ts';
import { RUN_CHANGE_COLUMNS, type RunChangeRow } from './run-events.ts';
// Supervision (issue 12): the two port operations behind ctx.nextChildExit / ctx.cancelChild.
import { killChild, takeChildEvent } from './supervision/child-exits.ts';

const JOURNAL_INSERT = `INSERT INTO orch_journal (run_id, seq, kind, name, status, output, error, wake_at, attempts,
  started_at, finished_at)`;
const JOURNAL_UPSERT = `ON CONFLICT (run_id, seq) DO UPDATE SET status = excluded.status, output = excluded.output,
  error = excluded.error, attempts = excluded.attempts, finished_at = excluded.finished_at`;
/** PostgreSQL: the fence and the journal write as one statement (it writes nothing without the lease). */
const FENCED_JOURNAL_PG = `WITH held AS (
    UPDATE orch_runs SET updated_at = ? WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING id)
  ${JOURNAL_INSERT}
  SELECT held.id, CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT),
    CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS BIGINT) FROM held
  ${JOURNAL_UPSERT} RETURNING seq`;

export class LeaseLost extends Error {
  constructor(runId: string) {
    super(`lease on run ${runId} was lost`);
  }
}

export interface ExecuteOptions {
  readonly workerId: string;
  readonly signal: AbortSignal;
  /** The run's journal, when the worker loaded it with the claim (one query for a whole batch). */
  readonly journal?: readonly JournalRow[];
  /** Group commit for completions of runs without a parent to wake. */
  readonly completions?: CompletionBatcher;
  /** Group commit for journal entries written outside a transaction (PostgreSQL). */
  readonly journalWrites?: JournalBatcher;
}

export async function executeRun(engine: Engine, row: RunRow, options: ExecuteOptions): Promise<void> {
  const { workerId } = options;
  const { store, clock } = engine;
  // A cancel found by a fenced write before the heartbeat saw it stops the execution the same way.
  const cancelFound = new AbortController();
  const signal = AbortSignal.any([options.signal, cancelFound.signal]);
  /** Holds the lease (or throws LeaseLost); says whether a cancel was requested. */
  const fence = async (q: Queryable): Promise<boolean> => {
    const held = await q.get<{ cancel_requested: number }>(
      "UPDATE orch_runs SET updated_at = ? WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING cancel_requested",
      [clock.now(), row.id, workerId],
    );
    if (!held) throw new LeaseLost(row.id);
    return held.cancel_requested === 1;
  };
  const fenced = <T>(fn: (tx: Transaction) => Promise<T>, refuseIfCancelled = false): Promise<T> =>
    store.transaction(async (tx) => {
      if ((await fence(tx)) && refuseIfCancelled) {
        const cancel = new StrataError('E_CANCELLED', 'the run was cancelled');
        cancelFound.abort(cancel);
        throw cancel;
      }
      return fn(tx);
    });
  const finish = async (
    fields: string,
    params: (string | number | null)[],
    wakeParent: boolean,
  ): Promise<void> => {
    const sql = `UPDATE orch_runs SET ${fields}, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
      WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING ${RUN_CHANGE_COLUMNS}`;
    const args = [...params, clock.now(), row.id, workerId];
    // The status, the wake-up and the `run:changed` event (last: see kernel/events/bus.ts) commit
    // together; with nothing to wake, one statement on SQLite (whose triggers publish).
    const nothingToWake = wakeParent && !row.parent_id;
    await (nothingToWake ? engine.withRunEvents.bind(engine) : store.transaction.bind(store))(async (tx) => {
      const done = await tx.all<RunChangeRow>(sql, args);
      if (done.length !== 1) throw new LeaseLost(row.id);
      if (wakeParent && row.parent_id) await engine.wake(tx, row.parent_id);
      else if (!wakeParent) await engine.notify(tx);
      await engine.publishRunChanges(tx, done);
    });
  };

  let def: WorkflowDefinition;
  try {
    def = engine.workflows.get(row.workflow, row.version);
  } catch (error) {
    // Never replay against other code: park until a worker with this version claims it again.
    const message = `no code for ${row.workflow} version ${row.version} here: ${serializeError(error).message}`;
    await finish(
      "status = 'version_unavailable', error = ?",
      [JSON.stringify({ code: 'E_VERSION_UNAVAILABLE', message })],
      false,
    );
    return;
  }
  const rows =
    options.journal ??
    (await store.all<JournalRow>('SELECT * FROM orch_journal WHERE run_id = ? ORDER BY seq', [row.id]));
  const journal = new Map(rows.map((r) => [r.seq, r]));
  const attribution = lazyAttribution(store, row); // cost per task: tree, attempt, project
  const port: RunPort = {
    runId: row.id,
    principal: principalOf(row),
    onBudgetExhausted: def.options.onBudgetExhausted ?? 'pause',
    clock,
    signal,
    journal,
    fenced,
    record: async (entry, tx) => {
      const values = [
        entry.seq,
        entry.kind,
        entry.name,
        entry.status,
        entry.output,
        entry.error,
        entry.wake_at,
        entry.attempts,
        entry.started_at,
        entry.finished_at,
      ];
      if (tx)
        await tx.run(`${JOURNAL_INSERT} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ${JOURNAL_UPSERT}`, [
          row.id,
          ...values,
        ]);
      else if (options.journalWrites) {
        const entryRow = { run_id: row.id, ...entry };
        if (!(await options.journalWrites.write(entryRow))) throw new LeaseLost(row.id);
      } else if (store.dialect === 'postgres') {
        // One statement, one round trip and one commit: the fence (which row-locks the run until
        // commit, so a takeover waits for it or makes it write nothing) and the insert together.
        const written = await store.all(FENCED_JOURNAL_PG, [clock.now(), row.id, workerId, ...values]);
        if (written.length !== 1) throw new LeaseLost(row.id);
      } else
        await fenced((q) =>
          q.run(`${JOURNAL_INSERT} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ${JOURNAL_UPSERT}`, [
            row.id,
            ...values,
          ]),
        );
      journal.set(entry.seq, { run_id: row.id, ...entry });
    },
    consumeSignal: (seq, name) =>
      fenced(async (tx) => {
        const found = await tx.get<{ id: string; payload: string }>(
          'SELECT id, payload FROM orch_signals WHERE run_id = ? AND name = ? AND consumed_seq IS NULL ORDER BY created_at, id LIMIT 1',
          [row.id, name],
        );
        if (!found) return undefined;
        const now = clock.now();
        await tx.run('UPDATE orch_signals SET consumed_seq = ? WHERE id = ?', [seq, found.id]);
        await tx.run(
          "UPDATE orch_journal SET status = 'ok', output = ?, finished_at = ? WHERE run_id = ? AND seq = ?",
          [found.payload, now, row.id, seq],
        );
        const entry = journal.get(seq);
        if (entry) journal.set(seq, { ...entry, status: 'ok', output: found.payload, finished_at: now });
        return { payload: JSON.parse(found.payload) as unknown };
      }),
    // Refused once the run's cancel is requested: engine.cancel cancels the children it finds, and
    // one started after it (before the heartbeat tells this execution) would run on, orphaned.
    startChild: (seq, childDef, input, options) =>
      fenced(async (tx) => {
        const child = await engine.start(
          childDef.name,
          input,
          {
            principal: port.principal,
            version: childDef.version,
            parentId: row.id,
            rootId: row.root_id,
            ...options,
          },
          tx,
        );
        const now = clock.now();
        await tx.run(
          `INSERT INTO orch_journal (run_id, seq, kind, name, status, output, error, wake_at, attempts, started_at, finished_at)
           VALUES (?, ?, 'child', ?, 'ok', ?, NULL, NULL, 1, ?, ?)`,
          [row.id, seq, childDef.name, JSON.stringify({ runId: child.id }), now, now],
        );
        journal.set(seq, {
          run_id: row.id,
          seq,
          kind: 'child',
          name: childDef.name,
          status: 'ok',
          output: JSON.stringify({ runId: child.id }),
          error: null,
          wake_at: null,
          attempts: 1,
          started_at: now,
          finished_at: now,
        });
        return child.id;
      }, true),
    childRun: async (childId) => {
      const child = await store.get<RunRow>('SELECT * FROM orch_runs WHERE id = ? AND parent_id = ?', [
        childId,
        row.id,
      ]);
      if (!child) throw new StrataError('E_NOT_FOUND', `run ${childId} is not a child of ${row.id}`);
      return toRun(child);
    },
    takeToken: (key) => store.transaction((tx) => takeToken(tx, key, clock.now())),
    nextChildExit: (seq, query) =>
      fenced(async (tx) => {
        const event = await takeChildEvent(tx, { parentId: row.id, seq, query, now: clock.now() });
        const entry = journal.get(seq);
        if (event && entry)
          journal.set(seq, { ...entry, status: 'ok', output: JSON.stringify(event), finished_at: event.at });
        return event;
      }),
    cancelChild: async (childId, kill) => {
      const child = await port.childRun(childId);
      if (child.status !== 'completed' && child.status !== 'failed' && child.status !== 'cancelled')
        await engine.cancel(child.tenantId, childId).catch((error: unknown) => {
          // It ended between the read and the cancel: nothing left to do.
          if (!(isStrataError(error) && error.code === 'E_CONFLICT')) throw error;
        });
      if (kill)
        await fenced(async (tx) => {
          const killed = await killChild(tx, row.id, childId, clock.now());
          if (killed) await engine.publishRunChanges(tx, [killed]);
        });
    },
    syscall: async (name, input, idempotencyKey) =>
      engine.kernel.call(name, input, {
        principal: port.principal,
        idempotencyKey,
        runId: row.id,
        attribution: await attribution(),
        signal,
      }),
  };

  const ctx = new WorkflowContext(port);
  try {
    const input = def.input.parse(JSON.parse(row.input));
    const output = await def.run(ctx, input);
    // A wait suspended this execution but the code caught that and returned: the run is not done.
    if (ctx.suspension) throw ctx.suspension;
    const checked = def.output.safeParse(output);
    if (!checked.success)
      throw new StrataError(
        'E_INVALID_INPUT',
        `workflow ${def.name} returned output that does not match its schema`,
      );
    const result = JSON.stringify(checked.data ?? null);
    if (options.completions && !row.parent_id) {
      if (!(await options.completions.complete(row.id, result, clock.now()))) throw new LeaseLost(row.id);
      return;
    }
    await finish("status = 'completed', output = ?, finished_at = ?", [result, clock.now()], true);
  } catch (thrown) {
    // Lost the lease (found on a write, or told by the heartbeat through the abort signal): stop silently.
    if (thrown instanceof LeaseLost || signal.reason instanceof LeaseLost) return;
    // Left to the lease: resumed by replay when it expires (journaled steps are not run again).
    if (isTransientStoreError(thrown)) throw thrown;
    // A suspension the code swallowed counts, whatever it threw after (or alongside) it.
    const suspension = ctx.suspension ?? (thrown instanceof Suspension ? thrown : undefined);
    if (suspension) {
      const now = clock.now();
      // A cancel requested since the heartbeat last looked (the signal is not aborted yet) makes
      // the run due now: claimed again, it is aborted at once and ends cancelled, instead of
      // waiting for its timer (a `sleep` of a day) or for a wake-up that may never come.
      await finish(
        "status = 'waiting', available_at = CASE WHEN wake_pending = 1 OR cancel_requested = 1 THEN CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END, wake_pending = 0",
        [now, suspension.wakeAt],
        false,
      ).catch(ignoreLeaseLost);
      return;
    }
    const error = coerceErrorKeepingCode(thrown);
    const cancelled = signal.aborted && error.code === 'E_CANCELLED';
    const now = clock.now();
    if (cancelled) {
      await finish(
        "status = 'cancelled', error = ?, finished_at = ?",
        [JSON.stringify(serializeError(error)), now],
        true,
      ).catch(ignoreLeaseLost);
      return;
    }
    const retryable = error.code !== 'E_NONDETERMINISM' && error.code !== 'E_RUN_TIMEOUT' && !signal.aborted;
    if (retryable && row.attempt < row.max_attempts) {
      await fenced(async (tx) => {
        await dropFailedTail(tx, row.id);
        const queued = await tx.all<RunChangeRow>(
          // Cancelled meanwhile (as for a suspension above): due now, to end cancelled, not after the backoff.
          `UPDATE orch_runs SET status = 'queued', attempt = attempt + 1, error = ?, lease_owner = NULL,
             available_at = CASE WHEN cancel_requested = 1 THEN CAST(? AS BIGINT) ELSE CAST(? AS BIGINT) END,
             lease_expires_at = NULL, updated_at = ? WHERE id = ? RETURNING ${RUN_CHANGE_COLUMNS}`,
          [
            JSON.stringify(serializeError(error)),
            now,
            now + backoff(def.options.retry, row.attempt),
            now,
            row.id,
          ],
        );
        await engine.publishRunChanges(tx, queued);
      }).catch(ignoreLeaseLost);
      return;
    }
    await finish(
      "status = 'failed', error = ?, finished_at = ?",
      [JSON.stringify(serializeError(error)), now],
      true,
    ).catch(ignoreLeaseLost);
  }
}

function coerceErrorKeepingCode(thrown: unknown): StrataError {
  if (thrown instanceof StrataError) return thrown;
  if (thrown instanceof Error)
    return new StrataError('E_INTERNAL', thrown.message, undefined, { cause: thrown });
  return coerceError(thrown);
}

function ignoreLeaseLost(error: unknown): void {
  if (!(error instanceof LeaseLost)) throw error;
}
