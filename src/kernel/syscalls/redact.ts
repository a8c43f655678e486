/**
 * @module kernel/syscalls/redact
 * Keeps secrets out of logs, audit entries, traces and errors. Two mechanisms, because either alone
 * leaks: paths marked with `secret()` in the input schema are replaced before anything is recorded,
 * and the *values* found there are scrubbed from any text (an error message a handler built from its
 * input, a driver error) before it leaves the pipeline.
 */
import { z } from 'zod';

export const REDACTED = '[REDACTED]';

/** A path into a JSON value; `*` stands for every array element or record value. */
export type SecretPath = readonly string[];

type JsonSchemaNode = {
  secret?: boolean;
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  additionalProperties?: JsonSchemaNode | boolean;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  allOf?: JsonSchemaNode[];
};

function walk(node: JsonSchemaNode | undefined, path: string[], out: SecretPath[], depth: number): void {
  if (!node || depth > 32) return;
  if (node.secret === true) {
    out.push(path);
    return;
  }
  for (const [key, child] of Object.entries(node.properties ?? {}))
    walk(child, [...path, key], out, depth + 1);
  if (node.items) walk(node.items, [...path, '*'], out, depth + 1);
  if (typeof node.additionalProperties === 'object')
    walk(node.additionalProperties, [...path, '*'], out, depth + 1);
  for (const alt of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])])
    walk(alt, path, out, depth + 1);
}

/** The secret paths of a schema, computed once per syscall at registration. */
export function secretPaths(schema: z.ZodType): SecretPath[] {
  const out: SecretPath[] = [];
  walk(z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as JsonSchemaNode, [], out, 0);
  return out;
}

function visit(
  value: unknown,
  path: SecretPath,
  onHit: (holder: Record<string, unknown>, key: string) => void,
): void {
  if (path.length === 0 || typeof value !== 'object' || value === null) return;
  const [head, ...rest] = path as [string, ...string[]];
  const holder = value as Record<string, unknown>;
  const keys = head === '*' ? Object.keys(holder) : Object.hasOwn(holder, head) ? [head] : [];
  for (const key of keys) {
    if (rest.length === 0) onHit(holder, key);
    else visit(holder[key], rest, onHit);
  }
}

/** A deep copy of `input` with every secret path replaced by `[REDACTED]`. */
export function redactInput(input: unknown, paths: readonly SecretPath[]): unknown {
  if (paths.length === 0) return input;
  const copy: unknown = structuredClone(input);
  for (const path of paths) visit(copy, path, (holder, key) => (holder[key] = REDACTED));
  return copy;
}

/** Every string (and number) found at a secret path, for value-based scrubbing. */
export function secretValues(input: unknown, paths: readonly SecretPath[]): string[] {
  const values: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string' && v.length > 0) values.push(v);
    else if (typeof v === 'number') values.push(String(v));
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(collect);
  };
  for (const path of paths) visit(input, path, (holder, key) => collect(holder[key]));
  return values;
}

/** The user-info of a URL (`scheme://user:password@host`, `scheme://token@host`). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s"'/@]+@/gi;

/**
 * `text` with the user-info of every URL in it replaced: a credential pasted into a URL field that
 * is not marked `secret()` (a git remote, a webhook) must not reach the audit chain either, even
 * when the syscall then refuses the input.
 */
export function maskUrlCredentials(text: string): string {
  return text.includes('@') ? text.replace(URL_USERINFO, `$1${REDACTED}@`) : text;
}

/** Replaces every occurrence of each secret value in `text`. */
export function scrub(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) if (value.length >= 3) out = out.split(value).join(REDACTED);
  return out;
}
