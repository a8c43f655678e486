/**
 * @module kernel/chaos/config
 * The `chaos` block of the configuration: fault injection, off by default. It is validated here
 * (not in the layers) because the injector sits in the kernel's syscall pipeline, in front of every
 * layer. `mode` is the runtime's smallest notion of production: in `production` chaos is refused
 * (E_CHAOS_REFUSED) unless the block says `force: true`, so a test config copied to a live fleet
 * cannot start failing real calls.
 *
 * @example
 * { "chaos": { "enabled": true, "seed": 7,
 *     "rules": [ { "layer": "models", "errorRate": 0.03 },
 *                { "syscall": "mail.*", "errorRate": 0.1, "fault": "smtp_451" } ],
 *     "outages": [ { "layer": "models", "startAfterMs": 10000, "durationMs": 5000 },
 *                  { "provider": "openai", "startAfterMs": 30000, "durationMs": 5000 } ] } }
 */
import { z } from 'zod';
import { FAULT_LAYER, layerOf, NAMED_FAULTS } from './faults.ts';

/** `development` (default) or `production` (also implied by NODE_ENV=production in `loadConfig`). */
export const modeSchema = z.enum(['development', 'production']).default('development');
export type RuntimeMode = z.infer<typeof modeSchema>;

/** A syscall name (`mail.send`) or a prefix ending in `.*` (`mail.*`). */
const syscallPattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[a-z0-9_]+(\.[a-z0-9_*]+)*$/, 'a syscall name or a prefix like mail.*');

const latencySchema = z.union([
  z.number().int().nonnegative().max(600_000),
  z
    .object({ min: z.number().int().nonnegative(), max: z.number().int().nonnegative().max(600_000) })
    .strict()
    .refine((r) => r.min <= r.max, 'min must not exceed max'),
]);

export const chaosRuleSchema = z
  .object({
    /** A layer (`models`, `compute`, `identity`, `memory`, `tools`, `provisioning`, …); unset: any. */
    layer: z.string().min(1).max(50).optional(),
    /** A syscall or a `prefix.*`; unset: any syscall of the layer. */
    syscall: syscallPattern.optional(),
    /** Share of matching calls (per attempt) that fail with the layer's transient error or `fault`. */
    errorRate: z.number().min(0).max(1).default(0),
    /** Added before every matching attempt: fixed, or uniform in {min, max} from the seeded draw. */
    latencyMs: latencySchema.optional(),
    /** A named fault the layer's driver realises instead of a plain error (see faults.ts). */
    fault: z.enum(NAMED_FAULTS).optional(),
  })
  .strict()
  // A named fault is realised only by its own layer's driver: a rule that aims it at another
  // layer would be accepted and never inject anything.
  .superRefine((rule, ctx) => {
    if (!rule.fault) return;
    const owner = FAULT_LAYER[rule.fault];
    if (rule.layer !== undefined && rule.layer !== owner)
      ctx.addIssue({
        code: 'custom',
        path: ['layer'],
        message: `${rule.fault} is a fault of the ${owner} layer, not ${rule.layer}`,
      });
    if (rule.syscall !== undefined && layerOf(rule.syscall) !== owner)
      ctx.addIssue({
        code: 'custom',
        path: ['syscall'],
        message: `${rule.fault} is a fault of the ${owner} layer; ${rule.syscall} is in ${layerOf(rule.syscall)}`,
      });
  });

export const chaosOutageSchema = z
  .object({
    layer: z.string().min(1).max(50).optional(),
    syscall: syscallPattern.optional(),
    /**
     * A model provider (its name in `models.providers`): only calls that reach it fail, in its
     * driver, as an unreachable provider does, so a route falls back to its next target. Without
     * it the whole layer (or syscall) fails before its handler runs.
     */
    provider: z.string().min(1).max(100).optional(),
    /** Milliseconds after `from` that the outage starts. */
    startAfterMs: z.number().int().nonnegative(),
    /**
     * What `startAfterMs` counts from: chaos being enabled (the default), or the first call the
     * outage matches after that, in this process. The latter lands the outage in the traffic it is
     * meant for however long the work takes to reach it (a slow start, a loaded machine).
     */
    from: z.enum(['enabled', 'first-call']).default('enabled'),
    durationMs: z.number().int().positive(),
  })
  .strict()
  .refine(
    (o) => o.layer !== undefined || o.syscall !== undefined || o.provider !== undefined,
    'an outage names a layer, a syscall or a provider',
  )
  .refine(
    (o) => o.provider === undefined || o.layer === undefined || o.layer === 'models',
    'a provider outage is in the models layer',
  );

export const chaosSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** The same seed and the same calls give the same faults. */
    seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
    /** Allow chaos in production mode. */
    force: z.boolean().default(false),
    rules: z.array(chaosRuleSchema).max(100).default([]),
    outages: z.array(chaosOutageSchema).max(100).default([]),
    /** A process running a worker kills itself with SIGKILL this long after start (`kill -9`). */
    killWorkerAfterMs: z.number().int().positive().optional(),
  })
  .strict();

export type ChaosConfig = z.infer<typeof chaosSchema>;
export type ChaosConfigInput = z.input<typeof chaosSchema>;
export type ChaosRule = z.infer<typeof chaosRuleSchema>;
export type ChaosOutage = z.infer<typeof chaosOutageSchema>;
