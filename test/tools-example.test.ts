// The README's `## Tools` example is examples/tools.ts verbatim; run it the way the README says (from
// the repository root) and check the output the README states.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../', import.meta.url);

test('tools example: shown verbatim in the README, runs to the stated output', () => {
  const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
  const source = readFileSync(new URL('examples/tools.ts', ROOT), 'utf8');
  assert.ok(
    readme.includes('```ts\n' + source + '```\n'),
    'README.md must contain examples/tools.ts verbatim',
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  const result = spawnSync(process.execPath, ['--input-type=module-typescript'], {
    cwd: fileURLToPath(ROOT),
    input: source,
    encoding: 'utf8',
    env,
    timeout: 60_000,
  });
  assert.equal(result.status, 0, result.stderr);
  const expected = ['demo ready 6 tools', 'mcp.demo.add', '{"sum":5}', 'E_CAPABILITY_DENIED'];
  assert.equal(result.stdout, expected.join('\n') + '\n');
  for (const line of expected) assert.ok(readme.includes(line), line);
});
