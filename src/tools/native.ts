/**
 * @module tools/native
 * Native tools: defined in process with zod, like syscalls, and published with JSON Schemas derived
 * from the zod schemas so MCP clients and OpenAPI-minded agents see the same contract.
 *
 * @example
 * layer.register(defineTool({
 *   name: 'math.add',
 *   description: 'Adds two numbers.',
 *   input: z.object({ a: z.number(), b: z.number() }),
 *   output: z.object({ sum: z.number() }),
 *   handler: ({ a, b }) => ({ sum: a + b }),
 * }));
 */
import { z } from 'zod';
import { StrataError } from '../kernel/index.ts';
import type { JsonSchema, RateLimit, Tool, ToolCallContext } from './types.ts';

export interface NativeToolDefinition<TInput, TOutput> {
  /** Dotted segments, e.g. `math.add`; must not start with `mcp.`. */
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType<TInput>;
  readonly output?: z.ZodType<TOutput>;
  readonly idempotent?: boolean;
  readonly costMicros?: number;
  readonly rateLimit?: RateLimit;
  readonly handler: (input: TInput, ctx: ToolCallContext) => Promise<TOutput> | TOutput;
}

const NAME = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64})+$/;

const jsonSchemaOf = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema =>
  z.toJSONSchema(schema, { unrepresentable: 'any', io });

export function defineTool<TInput, TOutput>(definition: NativeToolDefinition<TInput, TOutput>): Tool {
  if (!NAME.test(definition.name) || definition.name.startsWith('mcp.')) {
    throw new TypeError(
      `tool name "${definition.name}" must be dotted segments, e.g. "math.add", not under "mcp."`,
    );
  }
  const outputSchema = definition.output ? jsonSchemaOf(definition.output, 'output') : undefined;
  const structured = outputSchema?.['type'] === 'object';
  return {
    name: definition.name,
    description: definition.description,
    source: 'native',
    inputSchema: jsonSchemaOf(definition.input, 'input'),
    ...(structured && outputSchema ? { outputSchema } : {}),
    idempotent: definition.idempotent ?? false,
    ...(definition.costMicros ? { costMicros: definition.costMicros } : {}),
    ...(definition.rateLimit ? { rateLimit: definition.rateLimit } : {}),
    invoke: async (args, ctx) => {
      const input = definition.input.parse(args);
      const raw = await definition.handler(input, ctx);
      const checked = definition.output
        ? definition.output.safeParse(raw)
        : { success: true as const, data: raw };
      if (!checked.success) {
        throw new StrataError(
          'E_TOOL_ERROR',
          `tool ${definition.name} returned output that does not match its schema`,
          {
            tool: definition.name,
            issues: checked.error.issues
              .slice(0, 5)
              .map((i) => ({ path: i.path.join('.'), message: i.message })),
          },
        );
      }
      const output = checked.data;
      return {
        content: [{ type: 'text', text: JSON.stringify(output ?? null) }],
        ...(structured ? { structuredContent: output as Record<string, unknown> } : {}),
      };
    },
  };
}
