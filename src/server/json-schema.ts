/**
 * @module server/json-schema
 * Adapts the JSON Schemas the registry derives from zod to schema objects inside an OpenAPI 3.1
 * document. OpenAPI 3.1 speaks JSON Schema 2020-12, so only three things change:
 * - `$schema` is dropped (the document sets the dialect once);
 * - local `$defs` (zod emits them for recursive types) move to `components/schemas` under the
 *   owner's name, and `#/$defs/…` / `#` references are rewritten: inside a component they would
 *   otherwise resolve against the document root and point nowhere;
 * - the kernel's `secret: true` mark becomes `writeOnly: true` plus `x-strata-secret: true`, which
 *   generators and documentation tools understand.
 */

export type SchemaObject = Record<string, unknown>;

/** Keywords whose value maps names to schemas: their keys are names, not keywords. */
const NAMED_SCHEMAS = new Set(['properties', 'patternProperties', 'dependentSchemas']);

const isObject = (value: unknown): value is SchemaObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function adapt(node: unknown, owner: string): unknown {
  if (Array.isArray(node)) return node.map((item) => adapt(item, owner));
  if (!isObject(node)) return node;
  const out: SchemaObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === '$defs' || key === 'definitions') continue;
    if (key === 'secret' && value === true) {
      out['writeOnly'] = true;
      out['x-strata-secret'] = true;
    } else if (key === '$ref' && typeof value === 'string') {
      out[key] = rewriteRef(value, owner);
    } else if (NAMED_SCHEMAS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, adapt(child, owner)]),
      );
    } else {
      out[key] = adapt(value, owner);
    }
  }
  return out;
}

function rewriteRef(ref: string, owner: string): string {
  if (ref === '#') return `#/components/schemas/${owner}`;
  const local = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref)?.[1];
  return local === undefined ? ref : `#/components/schemas/${owner}.${local.replaceAll(/[^\w.-]/g, '_')}`;
}

/**
 * Adds `schema` to `components` as `owner` (with its `$defs` beside it as `owner.<def>`) and returns
 * a `$ref` to it.
 */
export function addComponent(components: SchemaObject, owner: string, schema: unknown): SchemaObject {
  const root = isObject(schema) ? schema : {};
  const defs = isObject(root['$defs'])
    ? root['$defs']
    : isObject(root['definitions'])
      ? root['definitions']
      : {};
  for (const [name, def] of Object.entries(defs)) {
    components[`${owner}.${name.replaceAll(/[^\w.-]/g, '_')}`] = adapt(def, owner);
  }
  components[owner] = adapt(root, owner);
  return { $ref: `#/components/schemas/${owner}` };
}

/** Whether a body is needed: the input schema requires at least one property. */
export function requiresBody(schema: unknown): boolean {
  return isObject(schema) && Array.isArray(schema['required']) && schema['required'].length > 0;
}
