// A node:test reporter that prints one closing line, `N passed, N failed[, N skipped]`, the plain
// format CI reads. It counts tests (not suites); a file that fails to load counts as one failure.
import type { TestEvent } from 'node:test/reporters';

export default async function* summary(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data as { details: { type?: string }; skip?: unknown; todo?: unknown };
    if (data.details.type === 'suite') continue;
    if (data.skip !== undefined || data.todo !== undefined) skipped++;
    else if (event.type === 'test:pass') passed++;
    else failed++;
  }
  yield `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
}
