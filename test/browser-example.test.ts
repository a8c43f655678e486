// The README's browser example is examples/browser.ts verbatim, and it prints what the README shows
// (real Chromium, a page on 127.0.0.1, a refused navigation), leaving no Chromium process behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeProcesses, waitForNoChromium } from '../src/compute/browser/testing.ts';

const ROOT = new URL('../', import.meta.url);

test('browser: the README shows examples/browser.ts verbatim, and it prints the output the README shows', async () => {
  const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
  const source = readFileSync(new URL('examples/browser.ts', ROOT), 'utf8');
  assert.ok(
    readme.includes('```ts\n' + source + '```\n'),
    'README.md must contain examples/browser.ts verbatim',
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STRATA_')));
  const result = spawnSync(process.execPath, ['--input-type=module-typescript'], {
    cwd: fileURLToPath(ROOT),
    env,
    input: source,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(result.status, 0, result.stderr);
  const shown = readme.split('```ts\n' + source + '```\n')[1]?.match(/```text\n([\s\S]*?)```/)?.[1];
  assert.ok(shown, 'the README shows the output after the example');
  assert.equal(result.stdout, shown);
  const left = await waitForNoChromium();
  assert.deepEqual(left, [], describeProcesses(left));
});
