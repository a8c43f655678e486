/**
 * @module cli/commands/audit
 * `strata audit verify` and `strata audit export` (and `strata audit list`, audit-list.ts). Verification walks every hash chain (or one
 * tenant's, or an exported file's) and, on the first bad entry, prints it and fails with
 * E_AUDIT_CHAIN_BROKEN (exit 5). `--file` verification is deliberately offline: it loads no
 * configuration and opens no database, so an auditor can check a log they were handed anywhere.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { verifyExport } from '../../kernel/audit/export.ts';
import { StrataError } from '../../kernel/errors.ts';
import type { ChainVerdict } from '../../kernel/index.ts';
import type { Runtime } from '../../server/runtime.ts';
import { outputOf, tenantOf, withRuntime } from '../context.ts';
import { table, type Output } from '../output.ts';
import { startProgress } from '../progress.ts';
import { exportAudit } from './audit-export.ts';
import { registerAuditList } from './audit-list.ts';

interface Verdict extends ChainVerdict {
  /** The tenant's name, or the file verified. */
  readonly name: string;
}

async function verifyDatabase(runtime: Runtime, out: Output, tenant: string | undefined): Promise<Verdict[]> {
  const { audit, principals } = runtime.kernel;
  const names = new Map((await principals.listTenants()).map((t) => [t.id, t.name]));
  const ids = tenant === undefined ? await audit.tenants() : [(await tenantOf(runtime, tenant)).id];
  const verdicts: Verdict[] = [];
  for (const id of ids) {
    const name = names.get(id) ?? '?';
    const bar = startProgress(out, `verifying ${name}`, (await audit.head(id)).seq);
    try {
      verdicts.push({ ...(await audit.verify(id, () => bar.tick())), name });
    } finally {
      bar.stop();
    }
  }
  return verdicts;
}

async function verifyFile(file: string): Promise<Verdict[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new StrataError('E_NOT_FOUND', `cannot read audit export ${file}`, { file }, { cause });
  }
  return [{ ...verifyExport(text), name: file }];
}

function verdictTable(verdicts: readonly Verdict[]): string {
  if (verdicts.length === 0) return 'no audit chains yet';
  return table(
    ['TENANT', 'NAME', 'ENTRIES', 'HEAD', 'STATUS'],
    verdicts.map((v) => [
      v.tenantId,
      v.name,
      String(v.entries),
      v.headHash,
      v.firstBad ? `BROKEN at seq ${v.firstBad.seq}` : 'ok',
    ]),
  );
}

/** Prints the verdicts; throws E_AUDIT_CHAIN_BROKEN naming the first bad entry if any chain fails. */
function report(out: Output, verdicts: readonly Verdict[]): void {
  const summary = verdicts.map((v) => ({
    tenantId: v.tenantId,
    name: v.name,
    ok: v.ok,
    entries: v.entries,
    headHash: v.headHash,
    ...(v.firstBad ? { firstBad: v.firstBad } : {}),
  }));
  const broken = verdicts.find((v) => v.firstBad !== undefined);
  if (broken?.firstBad === undefined) {
    out.result({ ok: true, tenants: summary }, () => verdictTable(verdicts));
    return;
  }
  const bad = broken.firstBad;
  // With --json the error document is the only output, so it carries the per-tenant summary too.
  if (!out.json) {
    out.result(null, () =>
      [
        verdictTable(verdicts),
        '',
        `first bad entry of ${broken.name} (${broken.tenantId}):`,
        `  seq      ${bad.seq}`,
        `  id       ${bad.id || '-'}`,
        `  problem  ${bad.problem}`,
        `  detail   ${bad.detail}`,
      ].join('\n'),
    );
  }
  throw new StrataError(
    'E_AUDIT_CHAIN_BROKEN',
    `audit chain of ${broken.name} is broken at seq ${bad.seq} (${bad.problem}): ${bad.detail}`,
    { tenantId: broken.tenantId, firstBad: bad, tenants: summary },
  );
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('list, verify and export the hash-chained audit log');
  registerAuditList(audit);

  audit
    .command('verify')
    .description('verify audit chains in the database, or an export file offline (--file)')
    .option('--tenant <name|id>', 'only this tenant (default: every tenant with a chain)')
    .option('--file <export.jsonl>', 'verify an export instead; opens no database')
    .action(async (options: { tenant?: string; file?: string }, command: Command) => {
      if (options.file !== undefined) {
        if (options.tenant !== undefined) {
          throw new StrataError(
            'E_BAD_REQUEST',
            '--tenant and --file cannot be combined: an export names its tenant',
          );
        }
        report(outputOf(command), await verifyFile(options.file));
        return;
      }
      await withRuntime(command, async (runtime, out) =>
        report(out, await verifyDatabase(runtime, out, options.tenant)),
      );
    });

  audit
    .command('export')
    .description('export a tenant’s audit log as JSON Lines (a header line, then one entry per line)')
    .requiredOption('--tenant <name|id>', 'tenant to export')
    .option('--out <file>', 'write to this file (mode 0600) instead of stdout')
    .action((options: { tenant: string; out?: string }, command: Command) =>
      withRuntime(command, async (runtime, out) => {
        const tenant = await tenantOf(runtime, options.tenant);
        // Without --out, stdout is the export: the progress (on stderr) shows only with --out.
        const bar = options.out
          ? startProgress(out, `exporting ${tenant.name}`, (await runtime.kernel.audit.head(tenant.id)).seq)
          : undefined;
        const summary = await exportAudit(runtime, tenant.id, options.out, () => bar?.tick()).finally(() =>
          bar?.stop(),
        );
        // Without --out, stdout *is* the export; a summary there would corrupt it.
        if (options.out === undefined) return;
        out.result(
          { file: options.out, ...summary },
          () =>
            `exported ${summary.entries} entries of ${tenant.name} to ${options.out} (head ${summary.headHash})`,
        );
      }),
    );
}
