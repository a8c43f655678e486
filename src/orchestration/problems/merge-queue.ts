/**
 * @module orchestration/problems/merge-queue
 * Merge-queue problems, read from its tables by SQL (the merge queue builds on orchestration, so
 * orchestration does not import it): changes rejected or sent to rework that their author has not
 * resubmitted (no later entry of the same branch), and queues stopped on an error, which only
 * `mq.resume` restarts. Both through the queue's indexes: (tenant, queue, state, seq) for entries,
 * (tenant, queue, branch, …) for the resubmission check, the primary key for queues.
 */
import { item, rows, type Found, type SourceScope } from './sources.ts';

const str = (v: unknown): string => String(v);

export async function mergeChanges(scope: SourceScope): Promise<Found> {
  const found = await rows(
    scope,
    `SELECT e.id, e.queue_id, e.branch, e.author, e.state, e.reason, e.updated_at
     FROM mq_queues q JOIN mq_entries e ON e.tenant_id = q.tenant_id AND e.queue_id = q.id
       AND e.state IN ('rejected', 'needs_rework')
     WHERE q.tenant_id = ?
       AND NOT EXISTS (SELECT 1 FROM mq_entries n WHERE n.tenant_id = e.tenant_id AND n.queue_id = e.queue_id
         AND n.branch = e.branch AND n.seq > e.seq)
     ORDER BY e.updated_at DESC`,
    [scope.tenantId],
  );
  const items = found.rows.map((r) =>
    item(scope, {
      kind: 'merge_change',
      id: str(r['id']),
      since: Number(r['updated_at']),
      reason: `${str(r['branch'])} by ${str(r['author'])} ${str(r['state']) === 'rejected' ? 'rejected' : 'needs rework'} in queue ${str(r['queue_id'])}: ${str(r['reason'])}`,
      // A patch entry (`patch:<hash>`) is resubmitted as a new patch, which the caller must supply.
      action: {
        syscall: 'mq.submit',
        input: str(r['branch']).startsWith('patch:')
          ? { queue: str(r['queue_id']) }
          : { queue: str(r['queue_id']), branch: str(r['branch']) },
      },
    }),
  );
  return { items, full: found.full, covers: [] };
}

export async function stoppedQueues(scope: SourceScope): Promise<Found> {
  const found = await rows(
    scope,
    `SELECT id, repository, target, stopped_code, stopped_reason, stopped_at
     FROM mq_queues WHERE tenant_id = ? AND stopped_code IS NOT NULL ORDER BY stopped_at`,
    [scope.tenantId],
  );
  const items = found.rows.map((r) =>
    item(scope, {
      kind: 'merge_queue_stopped',
      id: str(r['id']),
      since: Number(r['stopped_at']),
      reason: `queue ${str(r['id'])} (${str(r['target'])}) stopped: ${str(r['stopped_code'])} ${str(r['stopped_reason'])}`,
      action: { syscall: 'mq.resume', input: { queue: str(r['id']) } },
    }),
  );
  return { items, full: found.full, covers: [] };
}
