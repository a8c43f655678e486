/**
 * The JSON Schema an approval's value must match (stored with the approval, so whichever process
 * takes the decision validates it the same way). Ajv, draft 2020-12, formats not enforced.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { sharedAjv } from '../../kernel/ajv.ts';
import { StrataError } from '../../kernel/index.ts';

const compiled = new Map<string, ValidateFunction>();

function compile(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const cached = compiled.get(key);
  if (cached) return cached;
  const { $schema: _ignored, ...rest } = schema;
  try {
    const validate = sharedAjv().compile(rest);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(key, validate);
    return validate;
  } catch (cause) {
    throw new StrataError('E_INVALID_INPUT', 'the approval schema is not a valid JSON Schema', undefined, {
      cause,
    });
  }
}

/** Throws E_INVALID_INPUT (with the failing paths) when `schema` cannot compile. */
export const checkSchema = (schema: Record<string, unknown>): void => void compile(schema);

/** Throws E_INVALID_INPUT naming each failing path when `value` does not match `schema`. */
export function assertValue(schema: Record<string, unknown>, value: unknown, approvalId: string): void {
  const validate = compile(schema);
  if (validate(value)) return;
  const issues = (validate.errors ?? []).slice(0, 20).map((e) => ({
    path: e.instancePath.replace(/^\//, '').replaceAll('/', '.'),
    message: e.message ?? e.keyword,
  }));
  throw new StrataError('E_INVALID_INPUT', `the value does not match approval ${approvalId}'s schema`, {
    issues,
  });
}
