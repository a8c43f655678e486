/**
 * @module cli/commands/audit-export
 * Writes a tenant's audit log in the open `strata-audit/v1` JSON Lines format. The head is read
 * first and the export stops at its seq, so entries appended meanwhile (by a running server) never
 * make the export disagree with its own header. Entries are streamed page by page and written in
 * chunks (kernel/audit/export.ts, shared with the dashboard's download), so a long chain never sits
 * in memory.
 */
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { EXPORT_FORMAT, writeExport } from '../../kernel/audit/export.ts';
import type { ExportHeader } from '../../kernel/index.ts';
import type { Runtime } from '../../server/runtime.ts';

export interface ExportSummary {
  readonly tenantId: string;
  readonly entries: number;
  readonly headSeq: number;
  readonly headHash: string;
}

type Sink = { write(text: string): Promise<void>; close(): Promise<void> };

async function fileSink(path: string): Promise<Sink> {
  // Audit entries hold (redacted) call inputs: keep the file private like the rest of the data dir.
  const handle = await open(path, 'w', 0o600);
  return {
    write: async (text) => {
      await handle.write(text);
    },
    close: () => handle.close(),
  };
}

function stdoutSink(): Sink {
  return {
    write: async (text) => {
      if (!process.stdout.write(text)) await once(process.stdout, 'drain');
    },
    close: () => Promise.resolve(),
  };
}

export async function exportAudit(
  runtime: Runtime,
  tenantId: string,
  path?: string,
  onEntry?: () => void,
): Promise<ExportSummary> {
  const { audit } = runtime.kernel;
  const head = await audit.head(tenantId);
  const sink = path === undefined ? stdoutSink() : await fileSink(path);
  let entries: number;
  try {
    const header: ExportHeader = {
      format: EXPORT_FORMAT,
      tenantId,
      head,
      exportedAt: runtime.kernel.clock.now(),
    };
    entries = await writeExport((text) => sink.write(text), header, audit.entries(tenantId), onEntry);
  } finally {
    await sink.close();
  }
  return { tenantId, entries, headSeq: head.seq, headHash: head.hash };
}
