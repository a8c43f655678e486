/**
 * @module kernel/syscalls/registry
 * The table of registered syscalls, with what the pipeline derives once per syscall: the retry
 * policy at registration, the secret paths on the syscall's first call (JSON Schemas for the
 * OpenAPI document and MCP are built when described).
 */
import { z } from 'zod';
import { StrataError } from '../errors.ts';
import type { RetryPolicy, SyscallDefinition } from './define.ts';
import { secretPaths, type SecretPath } from './redact.ts';

export interface RegisteredSyscall {
  // The registry stores definitions of many input/output types; the pipeline validates with zod
  // before calling the handler, so erasing the type parameters here is safe.
  readonly definition: SyscallDefinition<unknown, unknown>;
  readonly secretPaths: readonly SecretPath[];
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
}

export interface SyscallDescription {
  readonly name: string;
  readonly description: string;
  readonly idempotency: SyscallDefinition['idempotency'];
  readonly inputSchema: unknown;
  readonly outputSchema: unknown;
}

export class SyscallRegistry {
  readonly #entries = new Map<string, RegisteredSyscall>();

  register<TInput, TOutput>(definition: SyscallDefinition<TInput, TOutput>): void {
    if (this.#entries.has(definition.name)) {
      throw new StrataError('E_CONFLICT', `syscall ${definition.name} is already registered`);
    }
    const attempts = definition.retry?.attempts ?? (definition.idempotency === 'unsafe' ? 1 : 3);
    // Secret paths come from the input's JSON Schema, computed on the first call: building it for
    // all ~200 syscalls at registration cost every process that opens a runtime (each CLI command,
    // each worker) ~150 ms of CPU, and most of them call one or two syscalls.
    let paths: readonly SecretPath[] | undefined;
    this.#entries.set(definition.name, {
      definition: definition as unknown as SyscallDefinition<unknown, unknown>,
      get secretPaths() {
        return (paths ??= secretPaths(definition.input));
      },
      retry: {
        attempts,
        baseDelayMs: definition.retry?.baseDelayMs ?? 50,
        maxDelayMs: definition.retry?.maxDelayMs ?? 2000,
      },
      timeoutMs: definition.timeoutMs ?? 30_000,
    });
  }

  /**
   * Caps every registered syscall's attempts at `attempts` (1: the pipeline never retries), to
   * measure what its retries are worth (the fleet demo's pass without recovery mechanisms).
   */
  capAttempts(attempts: number): void {
    for (const [name, entry] of this.#entries)
      this.#entries.set(name, {
        definition: entry.definition,
        timeoutMs: entry.timeoutMs,
        retry: { ...entry.retry, attempts: Math.min(entry.retry.attempts, attempts) },
        get secretPaths() {
          return entry.secretPaths; // still computed on first use, once
        },
      });
  }

  get(name: string): RegisteredSyscall {
    const entry = this.#entries.get(name);
    if (!entry)
      throw new StrataError('E_UNKNOWN_SYSCALL', `unknown syscall "${name.slice(0, 100)}"`, {
        name: name.slice(0, 100),
      });
    return entry;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  names(): string[] {
    return [...this.#entries.keys()].sort();
  }

  describe(name: string): SyscallDescription {
    const { definition } = this.get(name);
    return {
      name,
      description: definition.description,
      idempotency: definition.idempotency,
      inputSchema: z.toJSONSchema(definition.input, { unrepresentable: 'any', io: 'input' }),
      outputSchema: z.toJSONSchema(definition.output, { unrepresentable: 'any', io: 'output' }),
    };
  }
}
