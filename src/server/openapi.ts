/**
 * @module server/openapi
 * The OpenAPI 3.1 document, generated from the syscall registry at request time so a layer that
 * registers a syscall is documented without touching the server. Each syscall gets its own path,
 * `POST /v1/syscalls/<name>`, with its input as the request body and `{ output }` as the response,
 * which lets client generators produce one typed method per syscall.
 */
import { z } from 'zod';
import { ERROR_CODES, type Kernel } from '../kernel/index.ts';
import { CAPABILITY_HEADER } from './auth.ts';
import { addComponent, requiresBody, type SchemaObject } from './json-schema.ts';
import * as schemas from './schemas.ts';

type SyscallRegistry = Kernel['registry'];

const json = (schema: SchemaObject): SchemaObject => ({ 'application/json': { schema } });
const ref = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` });
const ERROR_RESPONSE = { $ref: '#/components/responses/Error' };
const PUBLIC: SchemaObject[] = [];

/** Every status an error code can produce, each answered with the error body. */
const ERROR_STATUSES = [...new Set(Object.values(ERROR_CODES).map((info) => String(info.http)))].sort();
const errorsOf = (statuses: readonly string[]): SchemaObject =>
  Object.fromEntries(statuses.map((s) => [s, ERROR_RESPONSE]));
/** The non-syscall routes: public ones can only fail inside; the others also refuse callers. */
const PUBLIC_ERRORS = ['500'];
const AUTHED_ERRORS = ['401', '500', '503'];

function ok(description: string, schema: SchemaObject): SchemaObject {
  return { description, content: json(schema) };
}

function syscallPath(registry: SyscallRegistry, name: string, components: SchemaObject): SchemaObject {
  const described = registry.describe(name);
  const input = addComponent(components, `${name}.Input`, described.inputSchema);
  const output = addComponent(components, `${name}.Output`, described.outputSchema);
  return {
    post: {
      operationId: `syscall_${name.replaceAll('.', '_')}`,
      tags: [name.split('.')[0]],
      summary: name,
      description: described.description,
      'x-strata-idempotency': described.idempotency,
      parameters: [{ $ref: '#/components/parameters/IdempotencyKey' }],
      requestBody: { required: requiresBody(described.inputSchema), content: json(input) },
      responses: {
        '200': ok('The syscall’s output.', { type: 'object', properties: { output }, required: ['output'] }),
        ...errorsOf(ERROR_STATUSES),
      },
    },
  };
}

function fixedPaths(): SchemaObject {
  const authed = (
    operationId: string,
    description: string,
    response: SchemaObject,
    extra: string[] = [],
  ) => ({
    get: {
      operationId,
      description,
      responses: { '200': response, ...errorsOf([...extra, ...AUTHED_ERRORS]) },
    },
  });
  const open = (operationId: string, description: string, responses: SchemaObject) => ({
    get: {
      operationId,
      description,
      security: PUBLIC,
      responses: { ...responses, ...errorsOf(PUBLIC_ERRORS) },
    },
  });
  const text = {
    description: 'Prometheus text exposition.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  };
  return {
    '/healthz': open('health', 'Liveness; 503 with status "draining" during graceful shutdown.', {
      '200': ok('Serving.', ref('Health')),
      '503': ok('Draining.', ref('Health')),
    }),
    '/metrics': open('metrics', 'Prometheus metrics: syscalls, errors, latency, cost, HTTP requests.', {
      '200': text,
    }),
    '/v1/openapi.json': open('openapi', 'This OpenAPI document.', {
      '200': ok('This document.', { type: 'object' }),
    }),
    '/v1/whoami': authed(
      'whoami',
      'The calling principal: tenant, id, kind and grants.',
      ok('The caller.', ref('Whoami')),
    ),
    '/v1/syscalls': authed(
      'listSyscalls',
      'Syscalls the caller is granted.',
      ok('Granted syscalls.', ref('SyscallList')),
    ),
    '/v1/syscalls/{name}': {
      ...authed(
        'describeSyscall',
        'A syscall’s description and JSON Schemas.',
        ok('The syscall.', ref('SyscallDetail')),
        ['404'],
      ),
      parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
    },
  };
}

function namedSchemas(): SchemaObject {
  const components: SchemaObject = {};
  const named = {
    Error: schemas.errorBodySchema,
    Health: schemas.healthSchema,
    Whoami: schemas.whoamiSchema,
    SyscallList: schemas.syscallListSchema,
    SyscallDetail: schemas.syscallDetailSchema,
  };
  for (const [name, schema] of Object.entries(named)) addComponent(components, name, z.toJSONSchema(schema));
  return components;
}

/** Builds the whole document from the registry as it is now. */
export function buildOpenApi(registry: SyscallRegistry): SchemaObject {
  const components = namedSchemas();
  const paths: SchemaObject = fixedPaths();
  for (const name of registry.names())
    paths[`/v1/syscalls/${name}`] = syscallPath(registry, name, components);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Strata API',
      version: '1.0.0',
      description: 'Every agent action is a syscall: POST its JSON input to /v1/syscalls/<name>.',
    },
    security: [{ bearer: [] }, { bearer: [], capability: [] }],
    paths,
    components: {
      schemas: components,
      responses: { Error: { description: 'An error with a stable code.', content: json(ref('Error')) } },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Given to the syscall: lets the kernel retry an unsafe syscall and its handler de-duplicate.',
          schema: { type: 'string', minLength: 1, maxLength: 255 },
        },
      },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key (sk_…) or a capability token.' },
        capability: {
          type: 'apiKey',
          in: 'header',
          name: CAPABILITY_HEADER,
          description: 'A capability token issued to the bearer API key; narrows the key to its grants.',
        },
      },
    },
  };
}

/**
 * The document for the registry, rebuilt only when a syscall was registered since the last build:
 * the route is public, so an anonymous caller must not make the server redo the work every time.
 * (Syscalls are never unregistered, so the count identifies the registry's content.)
 */
const built = new WeakMap<SyscallRegistry, { count: number; document: SchemaObject }>();

export function openApiFor(registry: SyscallRegistry): SchemaObject {
  const count = registry.names().length;
  const hit = built.get(registry);
  if (hit?.count === count) return hit.document;
  const document = buildOpenApi(registry);
  built.set(registry, { count, document });
  return document;
}
