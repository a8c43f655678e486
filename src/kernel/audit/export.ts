/**
 * @module kernel/audit/export
 * The audit log's open format: JSON Lines. The first line is a header naming the format, the tenant
 * and the head; every other line is one entry exactly as hashed. `verifyExport` checks a file with
 * no store and no server, so an auditor can verify a log they were handed.
 */
import type { AuditEntry } from './entry.ts';
import { verifyChain, type ChainHead, type ChainVerdict } from './verify.ts';
import { StrataError } from '../errors.ts';

export const EXPORT_FORMAT = 'strata-audit/v1';

export interface ExportHeader {
  readonly format: typeof EXPORT_FORMAT;
  readonly tenantId: string;
  readonly head: ChainHead;
  readonly exportedAt: number;
  /** Set when only the entries matching this filter were exported: such a file is not a whole chain. */
  readonly filter?: Readonly<Record<string, unknown>>;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * Writes an export: the header line, then every entry up to the header's head (entries appended
 * since the head was read are left out, so the file never disagrees with its own header), in
 * chunks of about 64 KB so a long chain never sits in memory. Returns how many entries it wrote.
 */
export async function writeExport(
  write: (text: string) => Promise<void>,
  header: ExportHeader,
  entries: AsyncIterable<AuditEntry>,
  /** Called after each entry (a CLI's progress bar). */
  onEntry?: () => void,
): Promise<number> {
  let count = 0;
  let buffer = `${headerLine(header)}\n`;
  for await (const entry of entries) {
    if (entry.seq > header.head.seq) break;
    buffer += `${entryLine(entry)}\n`;
    count++;
    onEntry?.();
    if (buffer.length >= CHUNK_BYTES) {
      await write(buffer);
      buffer = '';
    }
  }
  await write(buffer);
  return count;
}

export function headerLine(header: ExportHeader): string {
  return JSON.stringify(header);
}

export function entryLine(entry: AuditEntry): string {
  return JSON.stringify(entry);
}

/** Verifies the text of an export; a malformed line is reported with its line number. */
export function verifyExport(text: string): ChainVerdict {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const parse = (line: string, n: number): unknown => {
    try {
      return JSON.parse(line) as unknown;
    } catch (cause) {
      throw new StrataError(
        'E_BAD_REQUEST',
        `audit export line ${n} is not valid JSON`,
        { line: n },
        { cause },
      );
    }
  };
  const header = parse(lines[0] ?? '', 1) as Partial<ExportHeader>;
  if (header.format !== EXPORT_FORMAT || typeof header.tenantId !== 'string' || !header.head) {
    throw new StrataError('E_BAD_REQUEST', `line 1 is not a ${EXPORT_FORMAT} header`, { line: 1 });
  }
  const entries = lines.slice(1).map((line, i) => parse(line, i + 2) as AuditEntry);
  return verifyChain(header.tenantId, entries, header.head);
}
