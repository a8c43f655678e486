/** Workflow definitions by name and version; the latest version is used for new runs. */
import { StrataError } from '../kernel/index.ts';
import type { WorkflowDefinition } from './define.ts';

export class WorkflowRegistry {
  readonly #byKey = new Map<string, WorkflowDefinition>();
  readonly #latest = new Map<string, WorkflowDefinition>();

  register(def: WorkflowDefinition): void {
    const key = `${def.name}:${def.version}`;
    if (this.#byKey.has(key)) throw new StrataError('E_CONFLICT', `workflow ${key} is already registered`);
    this.#byKey.set(key, def);
    const latest = this.#latest.get(def.name);
    if (!latest || latest.version < def.version) this.#latest.set(def.name, def);
  }

  get(name: string, version?: number): WorkflowDefinition {
    const def = version === undefined ? this.#latest.get(name) : this.#byKey.get(`${name}:${version}`);
    if (!def) {
      const known = [...this.#byKey.keys()].sort();
      throw new StrataError(
        'E_UNKNOWN_WORKFLOW',
        `unknown workflow "${name.slice(0, 100)}"${version === undefined ? '' : ` version ${version}`}`,
        { name: name.slice(0, 100), version, registered: known.slice(0, 50) },
      );
    }
    return def;
  }

  has(name: string, version: number): boolean {
    return this.#byKey.has(`${name}:${version}`);
  }

  /** `name:version` keys, for claim filters: a worker claims only runs whose code it has. */
  keys(): string[] {
    return [...this.#byKey.keys()];
  }
}
