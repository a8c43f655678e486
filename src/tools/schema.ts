/**
 * @module tools/schema
 * JSON Schema validation of tool arguments (before any network call) and of structured output
 * (after it), with Ajv (draft 2020-12, the dialect MCP uses). Validators are compiled once per
 * schema object and cached; a schema Ajv cannot compile is the tool's fault, reported as
 * E_TOOL_ERROR, never as a Strata bug.
 *
 * Formats (`email`, `uri`, …) are not enforced: upstream servers disagree on them, and a tool that
 * cares validates them itself. Unknown keywords are ignored (`strict: false`) for the same reason.
 */
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { sharedAjv } from '../kernel/ajv.ts';
import { StrataError } from '../kernel/index.ts';
import type { JsonSchema } from './types.ts';

const cache = new WeakMap<JsonSchema, ValidateFunction>();

export interface SchemaIssue {
  path: string;
  message: string;
}

function compile(schema: JsonSchema, what: string): ValidateFunction {
  const cached = cache.get(schema);
  if (cached) return cached;
  // A `$schema` naming another draft would make Ajv look for that meta-schema; the keywords tools
  // use are the same in drafts 7 and 2020-12.
  const { $schema: _ignored, ...rest } = schema;
  try {
    const validate = sharedAjv().compile(rest);
    cache.set(schema, validate);
    return validate;
  } catch (cause) {
    throw new StrataError('E_TOOL_ERROR', `${what} has a JSON Schema that cannot be compiled`, undefined, {
      cause,
    });
  }
}

function issuesOf(errors: readonly ErrorObject[] | null | undefined): SchemaIssue[] {
  return (errors ?? []).slice(0, 20).map((e) => ({
    path: e.instancePath.replace(/^\//, '').replaceAll('/', '.'),
    // Ajv's messages name keywords and limits, never the value itself.
    message: e.message ?? e.keyword,
  }));
}

/** The issues of `value` against `schema`; empty when it is valid. */
export function check(schema: JsonSchema, value: unknown, what: string): SchemaIssue[] {
  const validate = compile(schema, what);
  return validate(value) ? [] : issuesOf(validate.errors);
}

/** Throws E_INVALID_INPUT naming each failing path when `args` do not match the tool's input schema. */
export function assertInput(schema: JsonSchema, args: unknown, tool: string): void {
  const issues = check(schema, args, `tool ${tool}`);
  if (issues.length > 0) {
    throw new StrataError('E_INVALID_INPUT', `invalid arguments for tool ${tool}`, { tool, issues });
  }
}

/** Throws E_TOOL_ERROR when a tool's structured output does not match its declared output schema. */
export function assertOutput(schema: JsonSchema, output: unknown, tool: string): void {
  const issues = check(schema, output, `tool ${tool}`);
  if (issues.length > 0) {
    throw new StrataError('E_TOOL_ERROR', `tool ${tool} returned output that does not match its schema`, {
      tool,
      issues,
    });
  }
}
