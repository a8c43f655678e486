/**
 * @module orchestration/deployments
 * Which workflow versions are deployed, and parking the runs whose version is not.
 *
 * Every worker writes one row per (workflow, version) it has code for, with a last-seen time it
 * refreshes while it lives and deletes when it stops. A version is *deployed* while some row for it
 * is fresher than the TTL. A queued, waiting or orphaned run of a workflow that IS deployed under
 * another version, but not under its own, has had its code removed (v1 replaced by v2): it parks as
 * `version_unavailable` with `E_VERSION_UNAVAILABLE`, instead of waiting forever or replaying
 * against other code. A run of a workflow no live worker has at all is left alone (the fleet may be
 * restarting). When any worker registers the version again, its parked runs are queued and resume
 * by replay.
 */
import type { Migration, Queryable } from '../kernel/index.ts';
import { RUN_CHANGE_COLUMNS, type RunChangeRow } from './run-events.ts';

/** Its own migration layer, so it never collides with the orchestration layer's numbering. */
export const DEPLOYMENTS_LAYER = 'orchestration_deployments';

export const deploymentMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'deployed workflow versions',
    up: `
      CREATE TABLE orch_deployments (
        workflow TEXT NOT NULL,
        version INTEGER NOT NULL,
        worker_id TEXT NOT NULL,
        seen_at BIGINT NOT NULL,
        PRIMARY KEY (workflow, version, worker_id)
      );`,
  },
];

const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** Writes (or refreshes) this worker's deployed `name:version` keys. */
export async function publishDeployments(
  q: Queryable,
  workerId: string,
  keys: readonly string[],
  now: number,
): Promise<void> {
  for (const key of keys) {
    const at = key.lastIndexOf(':');
    await q.run(
      `INSERT INTO orch_deployments (workflow, version, worker_id, seen_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (workflow, version, worker_id) DO UPDATE SET seen_at = excluded.seen_at`,
      [key.slice(0, at), Number(key.slice(at + 1)), workerId, now],
    );
  }
}

/** A stopping worker withdraws its versions at once (a killed one's rows go stale after the TTL). */
export async function retireDeployments(q: Queryable, workerId: string): Promise<void> {
  await q.run('DELETE FROM orch_deployments WHERE worker_id = ?', [workerId]);
}

/** Deletes rows of workers gone for long (killed ones never retire theirs), so the table stays small. */
export async function pruneDeployments(q: Queryable, staleBefore: number): Promise<void> {
  await q.run('DELETE FROM orch_deployments WHERE seen_at < ?', [staleBefore]);
}

/** Queues again the parked runs of the given versions (a worker that has their code is live). */
export async function unparkRuns(
  q: Queryable,
  keys: readonly string[],
  now: number,
): Promise<RunChangeRow[]> {
  if (keys.length === 0) return [];
  return q.all<RunChangeRow>(
    `UPDATE orch_runs SET status = 'queued', error = NULL, available_at = ?, updated_at = ?
     WHERE status = 'version_unavailable' AND (workflow || ':' || version) IN (${marks(keys.length)})
     RETURNING ${RUN_CHANGE_COLUMNS}`,
    [now, now, ...keys],
  );
}

/**
 * Parks runs whose version no live worker has while another version of their workflow is live.
 * Orphans count (a run whose worker died holding it); a run held under a live lease does not. A run
 * touched within the TTL is left for now: in a rolling deploy, a run just started on a new version
 * gets a TTL for a worker with that version to announce itself before it is parked.
 */
export async function parkUndeployedRuns(q: Queryable, now: number, ttlMs: number): Promise<RunChangeRow[]> {
  const liveSince = now - ttlMs;
  const error = JSON.stringify({
    code: 'E_VERSION_UNAVAILABLE',
    message:
      'no live worker has the code of this workflow version (another version is deployed); ' +
      'the run is parked and resumes when a worker registers this version again',
  });
  return q.all<RunChangeRow>(
    `UPDATE orch_runs SET status = 'version_unavailable', error = ?, lease_owner = NULL,
       lease_expires_at = NULL, updated_at = ?
     WHERE (status IN ('queued', 'waiting') OR (status = 'running' AND lease_expires_at < ?))
       AND updated_at < ?
       AND NOT EXISTS (SELECT 1 FROM orch_deployments d WHERE d.workflow = orch_runs.workflow
         AND d.version = orch_runs.version AND d.seen_at >= ?)
       AND EXISTS (SELECT 1 FROM orch_deployments d WHERE d.workflow = orch_runs.workflow
         AND d.version <> orch_runs.version AND d.seen_at >= ?)
     RETURNING ${RUN_CHANGE_COLUMNS}`,
    [error, now, now, liveSince, liveSince, liveSince],
  );
}
