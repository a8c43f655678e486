/**
 * @module orchestration/syscall-proxy
 * `ctx.<layer>.<call>(input)`: every registered syscall, reachable from a workflow as a method,
 * e.g. `ctx.kernel.echo({ message })` or `ctx.memory.search({ … })`. Each call is `ctx.syscall(name,
 * input)`, so it is journaled, capability-checked against the run's principal, metered and audited.
 * Names are resolved at call time against the kernel's registry, so layers added later need no
 * change here; an unknown name fails with `E_UNKNOWN_SYSCALL` like any other call.
 */

/** A callable namespace: `ns.call(input)`, or deeper `ns.group.call(input)`. */
export type SyscallNamespace = ((input?: unknown) => Promise<unknown>) & {
  readonly [segment: string]: SyscallNamespace;
};

/** The syscall prefixes DESIGN.md names; any other prefix is reachable with `ctx.syscall(name, input)`. */
export const SYSCALL_PREFIXES = [
  'kernel',
  'runs',
  'compute',
  'browser',
  'identity',
  'mail',
  'a2a',
  'memory',
  'tools',
  'provision',
  'billing',
  'model',
  'mq',
] as const;

export type SyscallPrefix = (typeof SYSCALL_PREFIXES)[number];
export type SyscallNamespaces = { readonly [P in SyscallPrefix]: SyscallNamespace };

export function syscallNamespace(
  call: (name: string, input: unknown) => Promise<unknown>,
  path: string,
): SyscallNamespace {
  const target = (input?: unknown): Promise<unknown> => call(path, input ?? {});
  return new Proxy(target, {
    get(_target, property) {
      if (typeof property !== 'string' || property === 'then') return undefined; // never a thenable
      return syscallNamespace(call, `${path}.${property}`);
    },
    apply(_fn, _this, args: unknown[]) {
      return call(path, args[0] ?? {});
    },
  }) as SyscallNamespace;
}
