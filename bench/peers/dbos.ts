// DBOS Transact 5.x, workload (b): `workflows` workflows of 3 no-op steps (`DBOS.runStep`), invoked
// directly, `concurrency` in flight at a time (closed loop), system database on a fresh database.
//
// Configuration: DBOS's defaults (system database pool of 10 connections, half of it reserved for
// polling reads; each step's checkpoint is its own commit), which is also what DBOS documents: it
// publishes no throughput settings for workflows invoked in-process. `systemDatabasePoolSize` can
// be raised for a comparison run. No network needs: no conductor key (launch() then opens no
// websocket), `enableOTLP: false` (no trace/log export), console logs at 'error' only.
// Latency is from the call to its return (the workflow's SUCCESS status is written by then; the
// run checks that dbos.workflow_status holds `workflows` SUCCESS rows before it stops the clock, and
// that dbos.operation_outputs holds one checkpoint per step).
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import { percentile } from '../_util.ts';
import { countOf, countUntil, freshDatabase, type WorkflowsResult } from './_db.ts';

const noop = (): Promise<void> => Promise.resolve();

async function threeSteps(wf: number): Promise<number> {
  await DBOS.runStep(noop, { name: 'step1' });
  await DBOS.runStep(noop, { name: 'step2' });
  await DBOS.runStep(noop, { name: 'step3' });
  return wf;
}

export async function runDbosWorkflows(options: {
  /** PostgreSQL server; a fresh system database is created on it and dropped afterwards. */
  url?: string;
  workflows: number;
  concurrency: number;
  /** Default: DBOS's own (10). */
  systemDatabasePoolSize?: number;
}): Promise<WorkflowsResult> {
  const { workflows, concurrency, systemDatabasePoolSize } = options;
  const db = await freshDatabase(options.url);
  const counter = new pg.Client({ connectionString: db.url });
  // Registration must precede launch(); shutdown({ deregister: true }) clears it for the next run.
  const workflow = DBOS.registerWorkflow(threeSteps, { name: 'strataBenchThreeSteps' });
  try {
    DBOS.setConfig({
      name: 'strata-bench',
      systemDatabaseUrl: db.url,
      enableOTLP: false,
      logLevel: 'error',
      ...(systemDatabasePoolSize === undefined ? {} : { systemDatabasePoolSize }),
    });
    await DBOS.launch();
    await counter.connect();
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let wf = next++; wf < workflows; wf = next++) {
          const w0 = performance.now();
          if ((await workflow(wf)) !== wf) throw new Error(`workflow ${wf} returned a wrong result`);
          latencies.push(performance.now() - w0);
        }
      }),
    );
    const succeeded = await countUntil(
      counter,
      "SELECT count(*)::int AS n FROM dbos.workflow_status WHERE status = 'SUCCESS'",
      workflows,
      performance.now() + 10_000,
    );
    const elapsed = performance.now() - t0;
    const checkpoints = await countOf(counter, 'SELECT count(*)::int AS n FROM dbos.operation_outputs');
    if (checkpoints !== 3 * workflows)
      throw new Error(`${checkpoints} DBOS step checkpoints, not ${3 * workflows}`);
    if (succeeded !== workflows)
      throw new Error(`${succeeded} of ${workflows} DBOS workflows recorded SUCCESS`);
    latencies.sort((a, b) => a - b);
    return {
      workflowsPerS: workflows / (elapsed / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      config: `DBOS 5 defaults${systemDatabasePoolSize === undefined ? '' : ` except systemDatabasePoolSize ${systemDatabasePoolSize}`} (no conductor, no OTLP); direct invocation, ${concurrency} in flight`,
    };
  } finally {
    // Safe without a launch too; it clears the registration either way.
    await DBOS.shutdown({ deregister: true });
    await counter.end().catch(() => undefined);
    await db.drop();
  }
}
