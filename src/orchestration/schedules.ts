/**
 * @module orchestration/schedules
 * Cron-scheduled runs. A schedule stores its next fire time; any worker that finds it due advances
 * it with a compare-and-set UPDATE and starts the run with the idempotency key
 * `cron:<schedule>:<fire time>`, so with many workers on many machines each fire starts exactly one
 * run, and a fire missed while every worker was down starts once when one comes back (no backlog
 * storm: the next fire is computed from now).
 */
import { createRequire } from 'node:module';
import type * as CronParser from 'cron-parser';
import { newId, StrataError, type Principal } from '../kernel/index.ts';
import type { Engine } from './engine.ts';

export interface Schedule {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly workflow: string;
  readonly cron: string;
  readonly nextAt: number;
}

type ScheduleRow = {
  id: string;
  tenant_id: string;
  name: string;
  workflow: string;
  input: string;
  cron: string;
  principal: string;
  next_at: number;
};

// cron-parser (with luxon, ~20 modules) is required by the first schedule, not with the
// orchestration layer that every CLI command and worker process loads; require keeps it synchronous.
const require = createRequire(import.meta.url);
let parser: typeof CronParser | undefined;
const cronParser = (): typeof CronParser => (parser ??= require('cron-parser') as typeof CronParser);

/** The first fire time strictly after `after`, in UTC; E_INVALID_INPUT for a bad expression. */
export function nextFire(cron: string, after: number): number {
  try {
    return cronParser()
      .CronExpressionParser.parse(cron, { currentDate: new Date(after), tz: 'UTC' })
      .next()
      .getTime();
  } catch (cause) {
    throw new StrataError(
      'E_INVALID_INPUT',
      `invalid cron expression "${cron.slice(0, 100)}"`,
      { cron },
      { cause },
    );
  }
}

/** Creates or replaces a tenant's schedule by name. */
export async function upsertSchedule(
  engine: Engine,
  spec: { name: string; workflow: string; input: unknown; cron: string; principal: Principal },
): Promise<Schedule> {
  const def = engine.workflows.get(spec.workflow);
  const parsed = def.input.safeParse(spec.input);
  if (!parsed.success)
    throw new StrataError('E_INVALID_INPUT', `invalid input for workflow ${spec.workflow}`);
  const now = engine.clock.now();
  const nextAt = nextFire(spec.cron, now);
  const { principal } = spec;
  const row = await engine.store.get<ScheduleRow>(
    `INSERT INTO orch_schedules (id, tenant_id, name, workflow, input, cron, principal, next_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, name) DO UPDATE SET workflow = excluded.workflow, input = excluded.input,
       cron = excluded.cron, principal = excluded.principal, next_at = excluded.next_at
     RETURNING *`,
    [
      newId('sch', now),
      principal.tenantId,
      spec.name,
      def.name,
      JSON.stringify(parsed.data ?? null),
      spec.cron,
      JSON.stringify({
        tenantId: principal.tenantId,
        id: principal.id,
        kind: principal.kind,
        grants: principal.grants,
      }),
      nextAt,
      now,
    ],
  );
  if (!row) throw new StrataError('E_INTERNAL', 'schedule upsert returned nothing');
  return toSchedule(row);
}

export async function removeSchedule(engine: Engine, tenantId: string, name: string): Promise<void> {
  const done = await engine.store.run('DELETE FROM orch_schedules WHERE tenant_id = ? AND name = ?', [
    tenantId,
    name,
  ]);
  if (done.changes === 0)
    throw new StrataError('E_NOT_FOUND', `no schedule "${name.slice(0, 100)}" in this tenant`);
}

export async function listSchedules(engine: Engine, tenantId: string): Promise<Schedule[]> {
  const rows = await engine.store.all<ScheduleRow>(
    'SELECT * FROM orch_schedules WHERE tenant_id = ? ORDER BY name',
    [tenantId],
  );
  return rows.map(toSchedule);
}

/** Starts the runs of every due schedule whose workflow this engine knows; returns how many fired. */
export async function fireDueSchedules(engine: Engine): Promise<number> {
  const now = engine.clock.now();
  const due = await engine.store.all<ScheduleRow>(
    'SELECT * FROM orch_schedules WHERE next_at <= ? ORDER BY next_at LIMIT 100',
    [now],
  );
  let fired = 0;
  for (const row of due) {
    if (!engine.workflows.keys().some((k) => k.startsWith(`${row.workflow}:`))) continue;
    const won = await engine.store.transaction(async (tx) => {
      const advanced = await tx.run('UPDATE orch_schedules SET next_at = ? WHERE id = ? AND next_at = ?', [
        nextFire(row.cron, now),
        row.id,
        row.next_at,
      ]);
      if (advanced.changes !== 1) return false; // another worker fired it
      await engine.start(
        row.workflow,
        JSON.parse(row.input),
        {
          principal: JSON.parse(row.principal) as Principal,
          idempotencyKey: `cron:${row.id}:${row.next_at}`,
        },
        tx,
      );
      return true;
    });
    if (won) fired++;
  }
  return fired;
}

function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    workflow: row.workflow,
    cron: row.cron,
    nextAt: row.next_at,
  };
}
