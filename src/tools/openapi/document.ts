/**
 * @module tools/openapi/document
 * Loading an OpenAPI 3.x document with `@readme/openapi-parser`: validate against the official
 * schema (plus its semantic rules: unique operation ids, path parameters declared, …), bundle it
 * into one self-contained document (what Strata stores), and dereference every `$ref` (what tools
 * are generated from). Swagger 2.0 is refused with a message saying so.
 *
 * A bad document is E_INVALID_INPUT naming where it came from (`source`: the file or URL) and the
 * parser's first error, whose text points at the offending line of the document.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '../../kernel/index.ts';

/** The parts of an OpenAPI 3 document the connector reads. */
export interface OpenApiDocument {
  openapi: string;
  info?: { title?: string; version?: string };
  servers?: { url: string; variables?: Record<string, { default: string }> }[];
  paths?: Record<string, PathItem | undefined>;
  [key: string]: unknown;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  description?: string;
  schema?: Record<string, unknown>;
}

export interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Record<string, unknown> }> };
  responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}

export type PathItem = Partial<Record<(typeof METHODS)[number], Operation>> & { parameters?: Parameter[] };

export const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export interface LoadedDocument {
  /** Self-contained (internal `$ref`s kept): safe to store as JSON. */
  readonly bundled: OpenApiDocument;
  /** Every `$ref` replaced by its target. */
  readonly dereferenced: OpenApiDocument;
}

function firstLines(message: string): string {
  // The parser's messages are "KEYWORD problem" followed by a code frame; keep the headline and
  // the frame's marked line, which shows where in the document the problem is.
  const lines = message.split('\n');
  const marked = lines.find((l) => l.trimStart().startsWith('>'));
  const head = (lines[0] ?? '').trim();
  return marked ? `${head} at line ${marked.replace(/^\s*>\s*/, '').trim()}` : head;
}

function invalid(source: string, errors: readonly string[]): StrataError {
  return new StrataError(
    'E_INVALID_INPUT',
    `invalid OpenAPI document ${source}: ${firstLines(errors[0] ?? 'unreadable')}`,
    { source, errors: errors.slice(0, 5).map((e) => e.slice(0, 1000)) },
  );
}

const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

/**
 * Fetches a document from an http(s) URL. JSON is parsed here; anything else (YAML) is handed to
 * the parser as a temporary file, which it reads by extension.
 */
async function fetchDocument(url: string): Promise<LoadedDocument> {
  let text: string;
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(15_000),
      headers: { accept: 'application/json, application/yaml, */*' },
    });
    if (!res.ok)
      throw new StrataError(
        'E_INVALID_INPUT',
        `OpenAPI document ${url} could not be fetched: HTTP ${res.status}`,
        { source: url },
      );
    text = await res.text();
  } catch (error) {
    if (error instanceof StrataError) throw error;
    throw new StrataError('E_INVALID_INPUT', `OpenAPI document ${url} could not be fetched`, { source: url });
  }
  if (text.length > MAX_DOCUMENT_BYTES)
    throw new StrataError('E_INVALID_INPUT', `OpenAPI document ${url} is over 10 MB`, { source: url });
  try {
    return await loadOpenApi(JSON.parse(text) as object, url);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  const dir = await mkdtemp(join(tmpdir(), 'strata-openapi-'));
  try {
    const file = join(dir, 'document.yaml');
    await writeFile(file, text);
    return await loadOpenApi(file, url);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Loads a document given as an object, or as a file path or http(s) URL (JSON or YAML).
 * `source` names it in errors (defaults to the path or URL, else "(inline)").
 */
export async function loadOpenApi(input: string | object, source?: string): Promise<LoadedDocument> {
  if (typeof input === 'string' && /^https?:\/\//i.test(input)) return fetchDocument(input);
  const label = source ?? (typeof input === 'string' ? input : '(inline)');
  // The parser (with ajv, ~150 modules) is loaded by the first document, not with the tools layer
  // that every CLI command and worker process opens.
  const { bundle, dereference, validate } = await import('@readme/openapi-parser');
  // The parser's document types are stricter than what we read; it validates the shape itself.
  type ParserInput = Parameters<typeof validate>[0];
  const copy = (): ParserInput =>
    typeof input === 'string' ? input : (structuredClone(input) as ParserInput);
  let result;
  try {
    result = await validate(copy(), { validate: { errors: { colorize: false } } });
  } catch (error) {
    throw invalid(label, [error instanceof Error ? error.message : String(error)]);
  }
  if (!result.valid)
    throw invalid(
      label,
      result.errors.map((e) => e.message),
    );
  if (result.specification !== 'OpenAPI') {
    throw new StrataError(
      'E_INVALID_INPUT',
      `${label} is a Swagger 2.0 document; only OpenAPI 3.x is supported`,
      {
        source: label,
      },
    );
  }
  try {
    const bundled = (await bundle(copy())) as unknown as OpenApiDocument;
    const dereferenced = (await dereference(structuredClone(bundled) as unknown as ParserInput, {
      dereference: { circular: 'ignore' },
    })) as unknown as OpenApiDocument;
    return { bundled, dereferenced };
  } catch (error) {
    throw invalid(label, [error instanceof Error ? error.message : String(error)]);
  }
}
