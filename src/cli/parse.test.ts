// Option parsers, in process: these need no CLI spawn.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { collectGrant, parseGrant, parseInteger, parseTtl } from './parse.ts';

test('parseGrant: resource defaults to *, splits at the first @', () => {
  assert.deepEqual(parseGrant('kernel.echo'), { syscall: 'kernel.echo', resource: '*' });
  assert.deepEqual(parseGrant('memory.*@memory/agent/a@b/*'), {
    syscall: 'memory.*',
    resource: 'memory/agent/a@b/*',
  });
  assert.deepEqual(collectGrant('b', [{ syscall: 'a', resource: '*' }]), [
    { syscall: 'a', resource: '*' },
    { syscall: 'b', resource: '*' },
  ]);
  for (const bad of ['', 'a.*.b', 'kern*', 'a..b', 'kernel.echo@', 'x@a//b']) {
    assert.throws(() => parseGrant(bad), InvalidArgumentError, bad);
  }
});

test('parseTtl: seconds or s/m/h/d suffixes, positive only', () => {
  assert.equal(parseTtl('3600'), 3600);
  assert.equal(parseTtl('45s'), 45);
  assert.equal(parseTtl('30m'), 1800);
  assert.equal(parseTtl('1h'), 3600);
  assert.equal(parseTtl('7d'), 604_800);
  for (const bad of ['0', '-5', '1.5h', '1w', 'h', ''])
    assert.throws(() => parseTtl(bad), InvalidArgumentError, bad);
});

test('parseInteger: non-negative integers only', () => {
  assert.equal(parseInteger('0'), 0);
  assert.equal(parseInteger('8080'), 8080);
  for (const bad of ['-1', '1e3', 'abc', ''])
    assert.throws(() => parseInteger(bad), InvalidArgumentError, bad);
});
