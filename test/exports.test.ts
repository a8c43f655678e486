// The public surface: every subpath entry loads, and the root entry never loads a database client
// (pg or better-sqlite3) — drivers are loaded only when a store of that kind is opened.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, { default: string }>;
};

/**
 * Imports `entry` in a fresh process and returns every module URL it resolved. The list goes
 * through a file: written to a pipe from an `exit` handler, a long one (the server entry's) is cut.
 */
function resolvedBy(entry: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'strata-exports-'));
  const out = join(dir, 'resolved.json');
  const hook = `
    import { registerHooks } from 'node:module';
    import { writeFileSync } from 'node:fs';
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
    process.on('exit', () => writeFileSync(process.env.RESOLVED_OUT, JSON.stringify(seen)));
  `;
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(hook)}`,
      '-e',
      `await import(${JSON.stringify(entry)})`,
      '--input-type=module',
    ],
    { encoding: 'utf8', env: { ...process.env, RESOLVED_OUT: out } },
  );
  try {
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(readFileSync(out, 'utf8')) as string[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the root entry loads neither pg nor better-sqlite3', () => {
  const urls = resolvedBy(new URL('../src/index.ts', import.meta.url).href);
  assert.ok(
    urls.some((u) => u.includes('/src/kernel/kernel.ts')),
    'the kernel is loaded',
  );
  const clients = urls.filter((u) => /node_modules\/(pg|better-sqlite3)\//.test(u));
  assert.deepEqual(clients, []);
});

test('every subpath export has a source entry that loads', () => {
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const source = target.default.replace(/^\.\/dist\//, '../src/').replace(/\.js$/, '.ts');
    const urls = resolvedBy(new URL(source, import.meta.url).href);
    assert.ok(urls.length > 0, `${subpath} resolved nothing`);
  }
});
