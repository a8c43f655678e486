/**
 * @module kernel/ajv
 * The one Ajv instance (draft 2020-12, formats not enforced, unknown keywords ignored) that the
 * layers validating JSON Schemas share: tool arguments and output, approval values. Required on
 * first use, not with the layers every CLI command and worker process opens (~80 modules);
 * `require` keeps the checks synchronous.
 */
import { createRequire } from 'node:module';
import type * as AjvModule from 'ajv/dist/2020.js';

const require = createRequire(import.meta.url);
let ajv: AjvModule.Ajv2020 | undefined;

export function sharedAjv(): AjvModule.Ajv2020 {
  return (ajv ??= new (require('ajv/dist/2020.js') as typeof AjvModule).Ajv2020({
    strict: false,
    validateFormats: false,
    allErrors: true,
    logger: false,
  }));
}
