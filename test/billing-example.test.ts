// The README's billing example is examples/billing.ts verbatim, and it prints what the README says.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../', import.meta.url);

test('billing: the README shows examples/billing.ts verbatim, and it prints the output the README shows', () => {
  const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
  const source = readFileSync(new URL('examples/billing.ts', ROOT), 'utf8');
  assert.ok(
    readme.includes('```ts\n' + source + '```\n'),
    'README.md must contain examples/billing.ts verbatim',
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  const result = spawnSync(process.execPath, ['--input-type=module-typescript'], {
    cwd: fileURLToPath(ROOT),
    env,
    input: source,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 0, result.stderr);
  const shown = readme.slice(readme.indexOf(source) + source.length).match(/prints\n\n```\n([\s\S]*?)```/);
  assert.ok(shown, 'the README shows the output after the example');
  assert.equal(result.stdout, shown[1]);
});
