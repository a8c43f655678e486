/**
 * @module server/syscalls
 * The syscall routes, mounted at `/v1/syscalls` behind authentication:
 * - `GET /` lists the syscalls the caller is granted (by syscall pattern: the resource a call
 *   touches depends on its input, so it is checked when the call is made);
 * - `GET /:name` describes one syscall with its JSON Schemas;
 * - `POST /:name` runs it with the JSON body as input and answers `{ output }`.
 *
 * The POST steps run cheapest-first, each able to refuse with a stable code before anything is
 * stored: unknown name (404) → body size (413) → `Idempotency-Key` → content type and JSON (400) →
 * the kernel's pipeline (schema 400, capability 403, …). Only the last one writes: it audits.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { matches, type Kernel, type Principal, type StrataConfig } from '../kernel/index.ts';
import { idempotencyKeyOf, limitBody, readJsonInput } from './body.ts';
import type { SyscallDetail, SyscallList } from './schemas.ts';
import type { AppEnv } from './types.ts';

const isGranted = (principal: Principal, name: string): boolean =>
  principal.grants.some((grant) => matches(grant.syscall, name, '.'));

export function syscallRoutes(kernel: Kernel, config: StrataConfig): Hono<AppEnv> {
  const { registry } = kernel;
  const routes = new Hono<AppEnv>();

  /** Throws E_UNKNOWN_SYSCALL (404) before the body is read. */
  const knownSyscall: MiddlewareHandler<AppEnv> = async (c, next) => {
    registry.get(c.req.param('name') ?? '');
    await next();
  };

  routes.get('/', (c) => {
    const principal = c.get('principal');
    const syscalls = registry
      .names()
      .filter((name) => isGranted(principal, name))
      .map((name) => {
        const { description, idempotency } = registry.get(name).definition;
        return { name, description, idempotency };
      });
    return c.json({ syscalls } satisfies SyscallList);
  });

  routes.get('/:name', (c) => {
    const described = registry.describe(c.req.param('name'));
    const detail: SyscallDetail = {
      name: described.name,
      description: described.description,
      idempotency: described.idempotency,
      inputSchema: described.inputSchema as SyscallDetail['inputSchema'],
      outputSchema: described.outputSchema as SyscallDetail['outputSchema'],
      granted: isGranted(c.get('principal'), described.name),
    };
    return c.json(detail);
  });

  const { bodyLimitBytes } = config.server;
  routes.post('/:name', knownSyscall, limitBody(bodyLimitBytes), async (c) => {
    const idempotencyKey = idempotencyKeyOf(c);
    const input = await readJsonInput(c, bodyLimitBytes);
    const output = await kernel.call(c.req.param('name'), input, {
      principal: c.get('principal'),
      idempotencyKey,
      // Aborted by the Node adapter when the client goes away, so an abandoned call stops early.
      signal: c.req.raw.signal,
    });
    return c.json({ output });
  });

  return routes;
}
