/**
 * @module testkit/resource-driver-conformance
 * The contract every resource driver meets (see `provisioning/resources/types.ts`), as one
 * node:test suite: create makes a usable object and can be repeated for the same id; suspend
 * refuses use and resume restores it with its data; credentials rotate; destroy removes the
 * object and can be repeated; a destroyed object cannot be acted on; `listOwned` sees live ids
 * and forgets destroyed ones; the same name in two tenants gives two objects; ids a driver cannot
 * represent are refused; a second driver on the same backing finds the objects again.
 *
 * The driver's own `probe` is what "usable" means: it connects with the returned env and secrets,
 * stores a marker and returns every marker stored so far, and rejects when the object refuses
 * connections or writes.
 *
 * @example
 * resourceDriverConformance('sqlite', () => new SqliteResourceDriver({ dir }), {
 *   probe: (ref, provisioned, marker) => writeAndReadMarkers(provisioned.env.SQLITE_PATH, marker),
 * });
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isStrataError } from '../kernel/errors.ts';
import { newId } from '../kernel/ids.ts';
import type { Provisioned, ResourceDriver, ResourceRef } from '../provisioning/resources/types.ts';

export const RESOURCE_DRIVER_TESTS = [
  'declares its kind, meters and config schema',
  'create makes a usable object',
  'create again for the same id gives a usable object',
  'suspend refuses use; resume restores it with its data',
  'rotateCredentials changes the secrets and the new ones work',
  'rotated-out credentials are refused',
  'destroy removes the object; destroying twice is fine',
  'a destroyed object cannot be suspended, resumed or rotated',
  'listOwned includes live ids and not destroyed ones',
  'the same name in two tenants gives two separate objects',
  'creates side by side',
  'ids the driver cannot represent are refused and nothing is made',
  'a new driver on the same backing finds the objects again',
] as const;

export type ResourceDriverTest = (typeof RESOURCE_DRIVER_TESTS)[number];

export interface ResourceDriverConformanceOptions {
  /**
   * Connects with `provisioned`'s env and secrets, stores `marker` and returns every marker stored
   * in that object so far, oldest first. Rejects when the object refuses connections or writes.
   */
  probe(ref: ResourceRef, provisioned: Provisioned, marker: string): Promise<readonly string[]>;
  /**
   * Tests that do not apply to this backing, each with the reason (e.g. a server that checks no
   * password cannot refuse a rotated-out one). They are not registered at all, so the run's
   * counts hold only tests that ran; the reason is for the reader of the call.
   */
  readonly notApplicable?: readonly { readonly test: ResourceDriverTest; readonly reason: string }[];
}

/** Opens a driver; every call opens one on the same backing (server, directory, namespace). */
export type ResourceDriverFactory = () => ResourceDriver | Promise<ResourceDriver>;

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isStrataError(error), `expected a StrataError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/** Registers the resource driver conformance tests for one driver. */
export function resourceDriverConformance(
  name: string,
  makeDriver: ResourceDriverFactory,
  options: ResourceDriverConformanceOptions,
): void {
  const omitted = new Set<string>(options.notApplicable?.map((s) => s.test));
  for (const test of omitted) {
    if (!(RESOURCE_DRIVER_TESTS as readonly string[]).includes(test))
      throw new Error(`resourceDriverConformance(${name}): no test named "${test}" to leave out`);
  }

  void describe(`resource driver conformance: ${name}`, () => {
    let driver: ResourceDriver;
    const made: ResourceRef[] = [];
    const newRef = (tenantId: string, resourceName = 'db'): ResourceRef => {
      const ref = { id: newId('res'), tenantId, name: resourceName, config: {}, handle: {} };
      made.push(ref);
      return ref;
    };
    const create = async (ref: ResourceRef): Promise<[ResourceRef, Provisioned]> => {
      const provisioned = await driver.create(ref);
      return [{ ...ref, handle: provisioned.handle }, provisioned];
    };
    const test = (title: ResourceDriverTest, fn: () => Promise<void>): void => {
      if (!omitted.has(title)) void it(title, fn);
    };

    before(async () => {
      driver = await makeDriver();
    });
    after(async () => {
      for (const ref of made) await driver.destroy(ref).catch(() => undefined);
      await driver.close();
    });

    test('declares its kind, meters and config schema', async () => {
      assert.match(driver.kind, /^[a-z][a-z0-9-]*$/);
      assert.ok(driver.description.length > 0);
      assert.ok(driver.meters.readySeconds.length > 0 && driver.meters.provisions.length > 0);
      assert.notEqual(driver.meters.readySeconds, driver.meters.provisions);
      assert.ok(driver.configSchema.safeParse({}).success, 'an empty config takes the defaults');
      assert.equal(driver.configSchema.safeParse({ noSuchOption: 1 }).success, false);
      await Promise.resolve();
    });

    test('create makes a usable object', async () => {
      const [ref, provisioned] = await create(newRef('conformance-a'));
      assert.ok(Object.keys(provisioned.handle).length > 0, 'a handle to find the object again');
      assert.ok(Object.keys(provisioned.env).length > 0, 'env to connect with');
      assert.deepEqual(await options.probe(ref, provisioned, 'first'), ['first']);
    });

    test('create again for the same id gives a usable object', async () => {
      const [ref, first] = await create(newRef('conformance-a'));
      await options.probe(ref, first, 'before');
      const again = await driver.create(ref);
      assert.deepEqual(again.handle, first.handle);
      assert.deepEqual(Object.keys(again.secrets).sort(), Object.keys(first.secrets).sort());
      assert.ok((await options.probe(ref, again, 'after')).includes('after'));
      assert.equal((await driver.listOwned()).filter((id) => id === ref.id).length, 1);
    });

    test('suspend refuses use; resume restores it with its data', async () => {
      const [ref, provisioned] = await create(newRef('conformance-a'));
      await options.probe(ref, provisioned, 'kept');
      await driver.suspend(ref);
      await driver.suspend(ref); // idempotent
      await assert.rejects(options.probe(ref, provisioned, 'while-suspended'));
      await driver.resume(ref);
      await driver.resume(ref);
      assert.deepEqual(await options.probe(ref, provisioned, 'resumed'), ['kept', 'resumed']);
    });

    test('rotateCredentials changes the secrets and the new ones work', async () => {
      const [ref, provisioned] = await create(newRef('conformance-a'));
      await options.probe(ref, provisioned, 'one');
      const secrets = await driver.rotateCredentials(ref);
      if (Object.keys(provisioned.secrets).length === 0) {
        assert.deepEqual(secrets, {}, 'a driver without credentials returns {}');
        return;
      }
      assert.deepEqual(Object.keys(secrets).sort(), Object.keys(provisioned.secrets).sort());
      for (const [key, value] of Object.entries(secrets))
        assert.notEqual(value, provisioned.secrets[key], `${key} changed`);
      assert.deepEqual(await options.probe(ref, { ...provisioned, secrets }, 'two'), ['one', 'two']);
    });

    test('rotated-out credentials are refused', async () => {
      const [ref, provisioned] = await create(newRef('conformance-a'));
      await options.probe(ref, provisioned, 'one');
      const secrets = await driver.rotateCredentials(ref);
      if (Object.keys(secrets).length === 0) return; // nothing to rotate out
      await assert.rejects(options.probe(ref, provisioned, 'old'));
      assert.deepEqual(await options.probe(ref, { ...provisioned, secrets }, 'new'), ['one', 'new']);
    });

    test('destroy removes the object; destroying twice is fine', async () => {
      const [ref, provisioned] = await create(newRef('conformance-a'));
      await options.probe(ref, provisioned, 'doomed');
      await driver.destroy(ref);
      await driver.destroy(ref);
      await assert.rejects(options.probe(ref, provisioned, 'ghost'));
      assert.ok(!(await driver.listOwned()).includes(ref.id));
      // a fresh create after destroy starts empty
      const [again, reborn] = await create(ref);
      assert.deepEqual(await options.probe(again, reborn, 'reborn'), ['reborn']);
    });

    test('a destroyed object cannot be suspended, resumed or rotated', async () => {
      const [ref] = await create(newRef('conformance-a'));
      await driver.destroy(ref);
      await rejectsWith(driver.suspend(ref), 'E_NOT_FOUND');
      await rejectsWith(driver.resume(ref), 'E_NOT_FOUND');
      await rejectsWith(driver.rotateCredentials(ref), 'E_NOT_FOUND');
      assert.ok(!(await driver.listOwned()).includes(ref.id), 'and nothing came back');
    });

    test('listOwned includes live ids and not destroyed ones', async () => {
      const [live] = await create(newRef('conformance-a'));
      const [suspended] = await create(newRef('conformance-b'));
      const [gone] = await create(newRef('conformance-a'));
      await driver.suspend(suspended);
      await driver.destroy(gone);
      const owned = await driver.listOwned();
      assert.ok(owned.includes(live.id), 'live');
      assert.ok(owned.includes(suspended.id), 'suspended objects still hold data');
      assert.ok(!owned.includes(gone.id), 'destroyed');
      assert.equal(new Set(owned).size, owned.length, 'no id twice');
    });

    test('the same name in two tenants gives two separate objects', async () => {
      const [a, inA] = await create(newRef('conformance-a', 'shared'));
      const [b, inB] = await create(newRef('conformance-b', 'shared'));
      assert.notDeepEqual(inA.handle, inB.handle);
      await options.probe(a, inA, 'only-a');
      assert.deepEqual(await options.probe(b, inB, 'only-b'), ['only-b']);
    });

    test('creates side by side', async () => {
      const refs = Array.from({ length: 4 }, (_, i) => newRef(`conformance-${i % 2 === 0 ? 'a' : 'b'}`));
      const results = await Promise.all(refs.map((ref) => create(ref)));
      const markers = await Promise.all(results.map(([ref, p], i) => options.probe(ref, p, `n${i}`)));
      assert.deepEqual(markers, [['n0'], ['n1'], ['n2'], ['n3']]);
    });

    test('ids the driver cannot represent are refused and nothing is made', async () => {
      const before = (await driver.listOwned()).sort();
      for (const id of ['../escape', "x'; DROP DATABASE postgres; --", 'a b', '', `res_${'X'.repeat(300)}`]) {
        await rejectsWith(
          driver.create({ id, tenantId: 'conformance-a', name: 'db', config: {}, handle: {} }),
          'E_INVALID_INPUT',
        );
      }
      assert.deepEqual((await driver.listOwned()).sort(), before);
    });

    test('a new driver on the same backing finds the objects again', async () => {
      const [ref, provisioned] = await create(newRef('conformance-a'));
      await options.probe(ref, provisioned, 'persisted');
      const second = await makeDriver();
      try {
        assert.ok((await second.listOwned()).includes(ref.id));
        await second.suspend(ref);
        await second.resume(ref);
        await second.destroy(ref);
        assert.ok(!(await driver.listOwned()).includes(ref.id));
      } finally {
        await second.close();
      }
    });
  });
}
