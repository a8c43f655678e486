/**
 * @module provisioning/resources/drivers/sandbox
 * A persistent sandbox of the compute layer as a metered resource. It belongs to the resource's
 * tenant — so the tenant runs commands in it with the `sandbox.*` syscalls, by the name in its env
 * — and is named `r-<resource id>`, so the driver finds it again after a restart (persistent
 * sandboxes are reloaded from disk) and the name never carries user text. Suspend pauses the
 * sandbox (no processes); resume is immediate.
 */
import { z } from 'zod';
import { isStrataError } from '../../../kernel/index.ts';
import type { Provisioned, ResourceDriver, ResourceRef } from '../types.ts';

/** The part of the compute layer's persistent sandbox this driver uses (layers never import each other). */
export interface ResourceSandbox {
  readonly id: string;
  pause(): Promise<void>;
  resume(): Promise<void>;
  destroy(): Promise<void>;
}

/** The part of the compute layer's `SandboxHost` this driver uses. */
export interface SandboxHost {
  create(input: unknown, owner: string): Promise<ResourceSandbox>;
  get(name: string, owner: string): ResourceSandbox;
  /** `null`: every owner's. */
  list(owner: string | null): ReadonlyArray<{ readonly name: string | null }>;
}
const PREFIX = 'r-';

const configSchema = z
  .object({
    runtimes: z.array(z.string()).max(8).default(['sh']),
    network: z.literal('none').default('none'),
  })
  .strict();

export class SandboxResourceDriver implements ResourceDriver {
  readonly kind = 'sandbox';
  readonly description = 'A persistent bubblewrap sandbox with a workspace on disk; paused when suspended.';
  readonly configSchema = configSchema;
  readonly meters = { readySeconds: 'sandbox.ready_seconds', provisions: 'sandbox.provisions' };
  readonly #sandboxes: SandboxHost;

  constructor(sandboxes: SandboxHost) {
    this.#sandboxes = sandboxes;
  }

  async create(ref: ResourceRef): Promise<Provisioned> {
    const name = nameOf(ref.id);
    const config = configSchema.parse(ref.config);
    const sandbox =
      this.#find(ref) ??
      (await this.#sandboxes.create(
        { kind: 'persistent', name, runtimes: config.runtimes, network: 'none' },
        ref.tenantId,
      ));
    return { handle: { sandbox: name }, env: { SANDBOX_ID: sandbox.id, SANDBOX_NAME: name }, secrets: {} };
  }

  async suspend(ref: ResourceRef): Promise<void> {
    await this.#find(ref)?.pause();
  }

  async resume(ref: ResourceRef): Promise<void> {
    await this.#find(ref)?.resume();
  }

  async destroy(ref: ResourceRef): Promise<void> {
    await this.#find(ref)?.destroy();
  }

  rotateCredentials(): Promise<Record<string, string>> {
    return Promise.resolve({});
  }

  listOwned(): Promise<string[]> {
    return Promise.resolve(
      this.#sandboxes
        .list(null)
        .flatMap((info) => (info.name?.startsWith(PREFIX) ? [idOf(info.name.slice(PREFIX.length))] : [])),
    );
  }

  /** The resource's sandbox, for use (exec) by whoever holds the resource. */
  sandboxOf(ref: Pick<ResourceRef, 'id' | 'tenantId'>): ResourceSandbox | undefined {
    return this.#find(ref);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #find(ref: Pick<ResourceRef, 'id' | 'tenantId'>): ResourceSandbox | undefined {
    try {
      return this.#sandboxes.get(nameOf(ref.id), ref.tenantId);
    } catch (error) {
      if (isStrataError(error) && error.code === 'E_NOT_FOUND') return undefined;
      throw error;
    }
  }
}

/** `res_01J…` → `r-res_01j…` (sandbox names are lower-case). */
function nameOf(resourceId: string): string {
  return PREFIX + resourceId.toLowerCase();
}

/** Back from a lower-cased id: the ULID part of `res_<ulid>` is upper-case. */
export function idOf(lowered: string): string {
  const cut = lowered.indexOf('_') + 1;
  return lowered.slice(0, cut) + lowered.slice(cut).toUpperCase();
}
