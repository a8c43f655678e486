/**
 * How an agent's fix reaches the shop's merge queue: a child run of the agent's run that calls
 * `mq.submit` with the patch. It runs on the `default` queue, which only the demo's parent process
 * serves, so the merge queue's worker (opened by the process that submits) stays in the process
 * that is not killed. A patch that no longer applies to main (another agent changed the same line
 * first) is refused by the queue at submit, naming the files: a conflict to rework, not a failure.
 */
import { z } from 'zod';
import { isStrataError } from '../../src/kernel/index.ts';
import { defineWorkflow } from '../../src/orchestration/index.ts';

export const SHOP_QUEUE = 'shop';

const input = z.object({ patch: z.string(), author: z.string() });
const output = z.object({ entry: z.string().nullable(), conflict: z.string().nullable() });

export const submitPatch = defineWorkflow(
  { name: 'demo.submit_patch', version: 1, queue: 'default', input, output },
  async (ctx, job) => {
    try {
      const entry = await ctx.syscall<{ id: string }>('mq.submit', {
        queue: SHOP_QUEUE,
        patch: job.patch,
        author: job.author,
      });
      return { entry: entry.id, conflict: null };
    } catch (error) {
      if (!isStrataError(error) || error.code !== 'E_PATCH_REJECTED') throw error;
      return { entry: null, conflict: error.message };
    }
  },
);
