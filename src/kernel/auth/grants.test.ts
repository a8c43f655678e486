import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.ts';
import {
  findGrant,
  grantCovers,
  grantSchema,
  matches,
  parseGrants,
  patternCovers,
  type Grant,
} from './grants.ts';

const invalidInput = (error: unknown) => isStrataError(error) && error.code === 'E_INVALID_INPUT';

void describe('grant patterns', () => {
  void it('match literally or by whole segments', () => {
    assert.equal(matches('kernel.echo', 'kernel.echo', '.'), true);
    assert.equal(matches('kernel.echo', 'kernel.echo2', '.'), false);
    assert.equal(matches('kernel.*', 'kernel.echo', '.'), true);
    assert.equal(matches('kernel.*', 'kernel.audit.verify', '.'), true);
    assert.equal(matches('kernel.*', 'kernelx.echo', '.'), false);
    assert.equal(matches('kernel.*', 'kernel', '.'), false);
    assert.equal(matches('*', 'anything.at.all', '.'), true);
    assert.equal(matches('*', 'memory/agent/a1', '/'), true);
  });

  void it('never confuse /crypto with /cryptocurrency', () => {
    assert.equal(matches('vault/crypto/*', 'vault/crypto/key1', '/'), true);
    assert.equal(matches('vault/crypto/*', 'vault/cryptocurrency/key1', '/'), false);
    assert.equal(matches('vault/crypto', 'vault/cryptocurrency', '/'), false);
    assert.equal(patternCovers('vault/crypto/*', 'vault/cryptocurrency/*', '/'), false);
    assert.equal(patternCovers('vault/crypto/*', 'vault/cryptocurrency', '/'), false);
  });

  void it('refuse malformed values except under *', () => {
    assert.equal(matches('memory/*', 'memory//x', '/'), false);
    assert.equal(matches('memory/*', 'memory/x/', '/'), false);
    assert.equal(matches('memory/x', 'memory/x/', '/'), false);
  });

  void it('reject * inside or before a segment, and empty segments', () => {
    for (const bad of [
      '',
      'kern*',
      'kernel.*.echo',
      '*.echo',
      'kernel.e*',
      'kernel..echo',
      'kernel.',
      '.kernel',
      '**',
    ]) {
      assert.throws(() => matches(bad, 'kernel.echo', '.'), invalidInput, bad);
    }
  });

  void it('cover: a parent covers exactly what it matches', () => {
    assert.equal(patternCovers('*', 'kernel.*', '.'), true);
    assert.equal(patternCovers('kernel.*', '*', '.'), false);
    assert.equal(patternCovers('kernel.*', 'kernel.*', '.'), true);
    assert.equal(patternCovers('kernel.*', 'kernel.audit.*', '.'), true);
    assert.equal(patternCovers('kernel.audit.*', 'kernel.*', '.'), false);
    assert.equal(patternCovers('kernel.*', 'kernel.echo', '.'), true);
    assert.equal(patternCovers('kernel.*', 'kernel', '.'), false);
    assert.equal(patternCovers('kernel.echo', 'kernel.*', '.'), false);
    assert.equal(patternCovers('kernel.echo', 'kernel.echo', '.'), true);
  });
});

void describe('grants', () => {
  const parent: Grant = {
    syscall: 'mail.*',
    resource: 'mail/*',
    constraints: { input: { to: 'ops@example.com' }, maxCostMicros: 1000 },
  };

  void it('cover only children with constraints at least as strict', () => {
    const child = (constraints?: Grant['constraints']): Grant => ({
      syscall: 'mail.send',
      resource: 'mail/out',
      constraints,
    });
    assert.equal(
      grantCovers(parent, child({ input: { to: 'ops@example.com', cc: 'x' }, maxCostMicros: 10 })),
      true,
    );
    assert.equal(grantCovers(parent, child({ input: { to: 'ops@example.com' }, maxCostMicros: 1000 })), true);
    assert.equal(grantCovers(parent, child()), false, 'dropping constraints widens');
    assert.equal(
      grantCovers(parent, child({ input: { to: 'ops@example.com' } })),
      false,
      'no cost cap widens',
    );
    assert.equal(
      grantCovers(parent, child({ input: { to: 'ops@example.com' }, maxCostMicros: 1001 })),
      false,
    );
    assert.equal(grantCovers(parent, child({ input: { to: 'evil@example.com' }, maxCostMicros: 1 })), false);
    assert.equal(grantCovers(parent, { ...child(parent.constraints), syscall: 'compute.exec' }), false);
    assert.equal(grantCovers(parent, { ...child(parent.constraints), resource: 'compute/x' }), false);
  });

  void it('find the grant that allows a call; deny by default', () => {
    const grants: Grant[] = [parent, { syscall: 'kernel.echo', resource: 'kernel/echo' }];
    const call = {
      syscall: 'mail.send',
      resource: 'mail/out',
      input: { to: 'ops@example.com' },
      costMicros: 5,
    };
    assert.equal(findGrant(grants, call), parent);
    assert.equal(findGrant(grants, { ...call, input: { to: 'evil@example.com' } }), undefined);
    assert.equal(findGrant(grants, { ...call, input: undefined }), undefined);
    assert.equal(findGrant(grants, { ...call, costMicros: 1001 }), undefined);
    assert.equal(
      findGrant(grants, { ...call, costMicros: undefined }),
      undefined,
      'unknown cost fails closed',
    );
    assert.equal(findGrant(grants, { syscall: 'kernel.echo', resource: 'kernel/echo' }), grants[1]);
    assert.equal(findGrant([], { syscall: 'kernel.echo', resource: 'kernel/echo' }), undefined);
  });

  void it('compare input constraints on own properties with strict equality', () => {
    const grants: Grant[] = [
      { syscall: '*', resource: '*', constraints: { input: { n: 1, toString: 'x' } } },
    ];
    assert.ok(findGrant(grants, { syscall: 'a', resource: 'b', input: { n: 1, toString: 'x' } }));
    assert.equal(
      findGrant(grants, { syscall: 'a', resource: 'b', input: { n: '1', toString: 'x' } }),
      undefined,
    );
    const inherited = Object.assign(Object.create({ toString: 'x' }) as object, { n: 1 });
    assert.equal(findGrant(grants, { syscall: 'a', resource: 'b', input: inherited }), undefined);
  });

  void it('schema validates pattern syntax and refuses unknown keys', () => {
    assert.ok(grantSchema.safeParse({ syscall: 'kernel.*', resource: 'kernel/*' }).success);
    assert.equal(grantSchema.safeParse({ syscall: 'kernel.*.x', resource: '*' }).success, false);
    assert.equal(grantSchema.safeParse({ syscall: '*', resource: 'a//b' }).success, false);
    assert.equal(grantSchema.safeParse({ syscall: '*', resource: '*', constraint: {} }).success, false);
    assert.equal(
      grantSchema.safeParse({ syscall: '*', resource: '*', constraints: { maxCostMicros: -1 } }).success,
      false,
    );
    assert.throws(
      () => parseGrants([{ syscall: 'x*', resource: '*' }]),
      (error: unknown) => {
        assert.ok(invalidInput(error));
        return true;
      },
    );
  });
});
