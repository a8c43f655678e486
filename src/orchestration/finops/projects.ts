/**
 * @module orchestration/finops/projects
 * The optional `project` label of a run tree (cost per task). It is set when a root run starts
 * (`runs.start {project}`) and every run of the tree inherits it through its root id, so child runs
 * need no column of their own: a side table keyed by root id, rather than a change to `orch_runs`.
 */
import { StrataError, type Migration, type Queryable, type RunAttribution } from '../../kernel/index.ts';
import type { RunRow } from '../run-row.ts';

export const PROJECTS_LAYER = 'orchestration_projects';

export const projectMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'run tree projects',
    up: `
      CREATE TABLE orch_run_projects (
        root_id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        project TEXT NOT NULL
      );
      CREATE INDEX orch_run_projects_tenant ON orch_run_projects (tenant_id, project);`,
  },
];

const PROJECT = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$/;

/** `E_INVALID_INPUT` unless 1–100 characters of letters, digits and `_ . : / -`. */
export function checkProject(project: string): string {
  if (!PROJECT.test(project))
    throw new StrataError('E_INVALID_INPUT', 'a project is 1–100 letters, digits or _ . : / -', {
      issues: [{ path: 'project', message: 'letters, digits or _ . : / -, at most 100' }],
    });
  return project;
}

/** Labels a root run's tree; a repeated start (same idempotency key) keeps the first label. */
export async function labelTree(
  q: Queryable,
  at: { tenantId: string; rootId: string; project: string },
): Promise<void> {
  await q.run(
    'INSERT INTO orch_run_projects (root_id, tenant_id, project) VALUES (?, ?, ?) ON CONFLICT (root_id) DO NOTHING',
    [at.rootId, at.tenantId, at.project],
  );
}

/**
 * The attribution of a run's syscalls, read once per execution and only when the run makes a call
 * (one indexed read), so runs without syscalls pay nothing.
 */
export function lazyAttribution(q: Queryable, row: RunRow): () => Promise<RunAttribution> {
  let found: Promise<RunAttribution> | undefined;
  return () =>
    (found ??= q
      .get<{ project: string }>('SELECT project FROM orch_run_projects WHERE root_id = ?', [row.root_id])
      .then((r) => ({
        rootId: row.root_id,
        attempt: row.attempt,
        ...(r ? { project: r.project } : {}),
      })));
}
