/**
 * @module compute/syscalls
 * Sandboxes as syscalls — `sandbox.create|get|list|exec|snapshot|restore|pause|resume|destroy` and
 * `sandbox.files.read|write|list|remove|upload|download` — so every action is capability-checked
 * and audited by the kernel pipeline. Each `sandbox.exec` audit entry holds the command (the
 * environment and stdin are redacted as secrets) and, as its result, the exit code, signal,
 * duration, bytes written and limits hit; never the output itself.
 *
 * Sandboxes belong to the caller's tenant: another tenant's is `E_NOT_FOUND`. Resources:
 * `sandbox/<id or name>` for one sandbox (`sandbox/<name>` for a named create, `sandbox` for an
 * unnamed one and for listing).
 */
import { z } from 'zod';
import { defineSyscall, erase, secret, type SyscallDefinition } from '../kernel/syscalls/define.ts';
import { REDACTED } from '../kernel/syscalls/redact.ts';
import type { SandboxManager } from './sandbox/manager.ts';
import { specInputSchema } from './sandbox/spec.ts';
import type { ExecResult, SandboxInfo } from './sandbox/types.ts';

const ref = z.string().min(1).max(100);
const path = z.string().max(4096);
const MAX_TRANSFER = 64 * 1024 * 1024;

const snapshotSchema = z.object({ id: z.string(), bytes: z.number(), createdAt: z.number() });
const infoSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  kind: z.enum(['ephemeral', 'persistent']),
  driver: z.string(),
  state: z.enum(['idle', 'running', 'paused', 'destroyed']),
  spec: z.record(z.string(), z.unknown()),
  createdAt: z.number(),
  lastUsedAt: z.number(),
  snapshots: z.array(snapshotSchema),
});
const execResultSchema = z.object({
  exitCode: z.number().nullable(),
  signal: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  durationMs: z.number(),
  stdoutBytes: z.number(),
  stderrBytes: z.number(),
  truncated: z.boolean(),
  exceeded: z.array(z.string()),
});
const ok = z.object({ ok: z.literal(true) });
const encoding = z.enum(['utf8', 'base64']).default('utf8');

function publicInfo(info: SandboxInfo): z.infer<typeof infoSchema> {
  // The owner is the caller's own tenant: not repeated. The environment is secret on the way in
  // (API keys are passed that way): its names are shown, never its values.
  const { owner: _owner, ...rest } = info;
  const env = Object.fromEntries(Object.keys(rest.spec.env).map((name) => [name, REDACTED]));
  return { ...rest, snapshots: [...rest.snapshots], spec: { ...rest.spec, env } };
}

/** The audit summary of an exec: what ran and how it ended, not what it printed. */
function execSummary(result: ExecResult): Record<string, unknown> {
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    durationMs: Math.round(result.durationMs * 1000) / 1000,
    stdoutBytes: result.stdoutBytes,
    stderrBytes: result.stderrBytes,
    exceeded: result.exceeded,
  };
}

export function sandboxSyscalls(manager: SandboxManager): SyscallDefinition<unknown, unknown>[] {
  const one = (input: { sandbox: string }) => `sandbox/${input.sandbox}`;
  return [
    erase(
      defineSyscall({
        name: 'sandbox.create',
        description:
          'Creates a sandbox (kind ephemeral or persistent; runtimes, limits, network none or an allow-list of host:port).',
        input: specInputSchema.extend({
          env: secret(z.record(z.string(), z.string().max(32_768)).optional()),
        }),
        output: infoSchema,
        idempotency: 'unsafe',
        resource: (input) => (input.name === undefined ? 'sandbox' : `sandbox/${input.name}`),
        timeoutMs: 60_000,
        handler: async (input, ctx) => publicInfo((await manager.create(input, ctx.tenantId)).info()),
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.get',
        description: 'Returns one sandbox of the caller’s tenant: spec, state, snapshots.',
        input: z.object({ sandbox: ref }).strict(),
        output: infoSchema,
        idempotency: 'pure',
        resource: one,
        handler: (input, ctx) => publicInfo(manager.get(input.sandbox, ctx.tenantId).info()),
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.list',
        description: 'Lists the caller tenant’s sandboxes, oldest first.',
        input: z.object({}).strict(),
        output: z.object({ sandboxes: z.array(infoSchema) }),
        idempotency: 'pure',
        resource: () => 'sandbox',
        handler: (_input, ctx) => ({ sandboxes: manager.list(ctx.tenantId).map(publicInfo) }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.exec',
        description:
          'Runs a command in a sandbox (a string runs with /bin/sh -c; an array is an argv) and returns exit code or signal, output (capped, with a marker) and limits hit.',
        input: z
          .object({
            sandbox: ref,
            command: z.union([
              z.string().min(1).max(100_000),
              z.array(z.string().max(100_000)).min(1).max(10_000),
            ]),
            cwd: path.optional(),
            env: secret(z.record(z.string(), z.string().max(32_768)).optional()),
            stdin: secret(
              z
                .string()
                .max(16 * 1024 * 1024)
                .optional(),
            ),
            timeoutMs: z
              .number()
              .int()
              .positive()
              .max(24 * 3600 * 1000)
              .optional(),
          })
          .strict(),
        output: execResultSchema,
        idempotency: 'unsafe',
        resource: one,
        timeoutMs: 24 * 3600 * 1000,
        auditResult: (_input, output) => execSummary(output as ExecResult),
        handler: async (input, ctx) => {
          const result = await manager.get(input.sandbox, ctx.tenantId).exec(input.command, {
            cwd: input.cwd,
            env: input.env,
            stdin: input.stdin,
            timeoutMs: input.timeoutMs,
            signal: ctx.signal,
          });
          return { ...result, exceeded: [...result.exceeded] };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.files.read',
        description: 'Reads a file of a sandbox’s workspace (utf8 or base64).',
        input: z.object({ sandbox: ref, path, encoding }).strict(),
        output: z.object({ content: z.string(), encoding: z.string(), bytes: z.number() }),
        idempotency: 'pure',
        resource: one,
        handler: async (input, ctx) => {
          const data = await manager.get(input.sandbox, ctx.tenantId).files.read(input.path);
          return { content: data.toString(input.encoding), encoding: input.encoding, bytes: data.length };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.files.write',
        description: 'Writes a file in a sandbox’s workspace, creating parent directories.',
        input: z
          .object({
            sandbox: ref,
            path,
            content: z.string().max(MAX_TRANSFER),
            encoding,
            mode: z.number().int().min(0).max(0o777).optional(),
          })
          .strict(),
        output: z.object({ bytes: z.number() }),
        idempotency: 'idempotent',
        resource: one,
        handler: async (input, ctx) => {
          const data = Buffer.from(input.content, input.encoding);
          await manager.get(input.sandbox, ctx.tenantId).files.write(input.path, data, { mode: input.mode });
          return { bytes: data.length };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.files.list',
        description: 'Lists a directory of a sandbox’s workspace (recursive on request).',
        input: z.object({ sandbox: ref, path: path.optional(), recursive: z.boolean().optional() }).strict(),
        output: z.object({
          entries: z.array(
            z.object({
              path: z.string(),
              type: z.string(),
              size: z.number(),
              mode: z.number(),
              mtimeMs: z.number(),
            }),
          ),
        }),
        idempotency: 'pure',
        resource: one,
        handler: async (input, ctx) => ({
          entries: await manager
            .get(input.sandbox, ctx.tenantId)
            .files.list(input.path ?? '', { recursive: input.recursive }),
        }),
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.files.remove',
        description: 'Removes a file (or, with recursive, a directory) of a sandbox’s workspace.',
        input: z.object({ sandbox: ref, path, recursive: z.boolean().optional() }).strict(),
        output: ok,
        idempotency: 'idempotent',
        resource: one,
        handler: async (input, ctx) => {
          await manager
            .get(input.sandbox, ctx.tenantId)
            .files.remove(input.path, { recursive: input.recursive });
          return { ok: true as const };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.files.upload',
        description:
          'Extracts a tar archive (base64; gzip or not) into a directory of a sandbox’s workspace.',
        input: z.object({ sandbox: ref, tar: z.string().max(MAX_TRANSFER), dest: path.optional() }).strict(),
        output: ok,
        idempotency: 'idempotent',
        resource: one,
        timeoutMs: 300_000,
        handler: async (input, ctx) => {
          await manager
            .get(input.sandbox, ctx.tenantId)
            .files.upload(Buffer.from(input.tar, 'base64'), input.dest ?? '');
          return { ok: true as const };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.files.download',
        description: 'Returns a gzipped tar (base64) of a path of a sandbox’s workspace.',
        input: z.object({ sandbox: ref, path: path.optional() }).strict(),
        output: z.object({ tar: z.string(), bytes: z.number() }),
        idempotency: 'pure',
        resource: one,
        timeoutMs: 300_000,
        handler: async (input, ctx) => {
          const tar = await manager.get(input.sandbox, ctx.tenantId).files.download(input.path ?? '');
          return { tar: tar.toString('base64'), bytes: tar.length };
        },
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.snapshot',
        description: 'Snapshots a sandbox’s workspace as a tarball stored by content hash; returns its id.',
        input: z.object({ sandbox: ref }).strict(),
        output: snapshotSchema,
        idempotency: 'idempotent',
        resource: one,
        timeoutMs: 300_000,
        handler: (input, ctx) => manager.get(input.sandbox, ctx.tenantId).snapshot(),
      }),
    ),
    erase(
      defineSyscall({
        name: 'sandbox.restore',
        description: 'Replaces a sandbox’s workspace with a snapshot taken by one of the tenant’s sandboxes.',
        input: z.object({ sandbox: ref, snapshot: z.string().min(1).max(100) }).strict(),
        output: ok,
        idempotency: 'idempotent',
        resource: one,
        timeoutMs: 300_000,
        handler: async (input, ctx) => {
          await manager.get(input.sandbox, ctx.tenantId).restore(input.snapshot);
          return { ok: true as const };
        },
      }),
    ),
    ...(['pause', 'resume', 'destroy'] as const).map((action) =>
      erase(
        defineSyscall({
          name: `sandbox.${action}`,
          description:
            action === 'pause'
              ? 'Pauses a sandbox: running processes are frozen; an idle one releases its resources. The next exec resumes it.'
              : action === 'resume'
                ? 'Resumes a paused sandbox (thaws frozen processes).'
                : 'Destroys a sandbox: kills its processes and deletes its workspace (a persistent one too).',
          input: z.object({ sandbox: ref }).strict(),
          output: ok,
          idempotency: 'idempotent',
          resource: one,
          handler: async (input, ctx) => {
            await manager.get(input.sandbox, ctx.tenantId)[action]();
            return { ok: true as const };
          },
        }),
      ),
    ),
  ];
}
