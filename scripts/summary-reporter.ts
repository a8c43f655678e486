// A node:test reporter that prints the slowest top-level tests and suites (what to cut when the
// suite outgrows its time budget), then one closing line, `N passed, N failed[, N skipped]`, the
// plain format CI reads. It counts tests (not suites); a file that fails to load counts as one
// failure. With STRATA_TEST_DURATIONS=FILE it also writes each file's duration (its wall time in
// seconds) to FILE as JSON, which scripts/test.ts orders the suite by.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { TestEvent } from 'node:test/reporters';

const SLOWEST = 12;

export default async function* summary(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const topMs = new Map<string, number>();
  const fileMs = new Map<string, number>();
  for await (const event of source) {
    // One summary per test file (the run's own has no file): its wall time, set-up included.
    if (event.type === 'test:summary' && event.data.file) fileMs.set(event.data.file, event.data.duration_ms);
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data as {
      details: { type?: string; duration_ms?: number };
      skip?: unknown;
      todo?: unknown;
      nesting: number;
      name: string;
    };
    if (data.nesting === 0)
      topMs.set(data.name, (topMs.get(data.name) ?? 0) + (data.details.duration_ms ?? 0));
    if (data.details.type === 'suite') continue;
    if (data.skip !== undefined || data.todo !== undefined) skipped++;
    else if (event.type === 'test:pass') passed++;
    else failed++;
  }
  const durationsFile = process.env['STRATA_TEST_DURATIONS'];
  if (durationsFile) writeDurations(durationsFile, fileMs);
  const slowest = [...topMs].sort((a, b) => b[1] - a[1]).slice(0, SLOWEST);
  if (slowest.length > 1) {
    yield `\nslowest top-level tests and suites:\n`;
    for (const [name, ms] of slowest) yield `${(ms / 1000).toFixed(1).padStart(7)} s  ${name}\n`;
  }
  yield `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
}

function writeDurations(path: string, fileMs: Map<string, number>): void {
  const seconds = Object.fromEntries(
    [...fileMs]
      .map(([file, ms]) => [relative(process.cwd(), file), Math.round(ms / 100) / 10] as const)
      .sort((a, b) => b[1] - a[1]),
  );
  writeFileSync(path, `${JSON.stringify(seconds, null, 2)}\n`);
}
