/**
 * @module server/workflows
 * Loads user workflows for `strata up --workflows <module>`: imports a `.ts` (Node strips the types)
 * or `.js` module and takes every export that looks like a workflow definition — anything with
 * `name`, `version`, `run`, `input` and `output`, as `defineWorkflow`/`defineAgent` build — and
 * arrays of them (a default export of `[a, b]` works too).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StrataError } from '../kernel/index.ts';
import type { WorkflowDefinition } from '../orchestration/index.ts';

function isSchema(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof Reflect.get(value, 'safeParse') === 'function';
}

function asWorkflow(value: unknown): WorkflowDefinition | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<Record<keyof WorkflowDefinition, unknown>>;
  if (typeof v.name !== 'string' || typeof v.version !== 'number' || typeof v.run !== 'function')
    return undefined;
  if (!isSchema(v.input) || !isSchema(v.output)) return undefined;
  // A hand-written definition may omit `options`; the engine reads it for every start.
  const options = typeof v.options === 'object' && v.options !== null ? v.options : {};
  return { ...(value as WorkflowDefinition), options };
}

/** The workflow definitions a module exports; E_CONFIG if it cannot be loaded or exports none. */
export async function loadWorkflows(modulePath: string): Promise<WorkflowDefinition[]> {
  const file = resolve(modulePath);
  if (!existsSync(file)) {
    throw new StrataError('E_CONFIG', `workflows module ${modulePath} does not exist`, { file });
  }
  let exported: Record<string, unknown>;
  try {
    exported = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new StrataError(
      'E_CONFIG',
      `cannot load workflows module ${modulePath}: ${reason}`,
      { file },
      { cause },
    );
  }
  // The same definition is often exported twice (named and in a default array): register it once.
  const seen = new Set<unknown>();
  const found: WorkflowDefinition[] = [];
  for (const value of Object.values(exported).flatMap((v) => (Array.isArray(v) ? (v as unknown[]) : [v]))) {
    const def = asWorkflow(value);
    if (def === undefined || seen.has(value)) continue;
    seen.add(value);
    found.push(def);
  }
  if (found.length === 0) {
    throw new StrataError(
      'E_CONFIG',
      `workflows module ${modulePath} exports no workflow definitions (objects with name, version, run, input, output)`,
      { file },
    );
  }
  return found;
}
