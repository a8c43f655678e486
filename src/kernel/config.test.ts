// Configuration: defaults, file < env < flags, and errors that name the bad key and its source.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { databaseUrlOf, loadConfig } from './config.ts';
import { isStrataError } from './errors.ts';

const configError = (pattern: RegExp) => (error: unknown) =>
  isStrataError(error) && error.code === 'E_CONFIG' && pattern.test(error.message);

test('defaults give an embedded SQLite database under .strata', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.server.port, 7070);
  assert.equal(config.server.host, '127.0.0.1');
  assert.match(databaseUrlOf(config), /^sqlite:.*\.strata\/strata\.db$/);
});

test('file, then environment, then flags; later wins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-config-'));
  const file = join(dir, 'strata.config.json');
  writeFileSync(
    file,
    JSON.stringify({ server: { port: 8000, bodyLimitBytes: 2048 }, log: { level: 'warn' } }),
  );
  const config = loadConfig({ file, env: { STRATA_PORT: '9000' }, overrides: { 'log.level': 'debug' } });
  assert.equal(config.server.port, 9000);
  assert.equal(config.server.bodyLimitBytes, 2048);
  assert.equal(config.log.level, 'debug');
});

test('a bad value names the key and where it came from', () => {
  assert.throws(
    () => loadConfig({ env: { STRATA_PORT: 'eighty' } }),
    configError(/server\.port.*env STRATA_PORT/),
  );
  assert.throws(() => loadConfig({ env: { STRATA_PORT: '70000' } }), configError(/server\.port/));
  assert.throws(() => loadConfig({ env: { STRATA_LOG_LEVEL: 'loud' } }), configError(/log\.level/));
  const dir = mkdtempSync(join(tmpdir(), 'strata-config-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ server: { prot: 1 } }));
  assert.throws(() => loadConfig({ file }), configError(/prot/));
  writeFileSync(file, '{ not json');
  assert.throws(() => loadConfig({ file }), configError(/not a JSON object/));
});
