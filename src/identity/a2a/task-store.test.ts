// The task store's coalesced writes (task-store.ts): one write for a one-turn message, the state an
// answer reports already durable when it arrives, a working task stored within a turn, and writes
// of one task landing in order.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, it } from 'node:test';
import { Task, TaskState } from '@a2a-js/sdk';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import { ServerCallContext } from '@a2a-js/sdk/server';
import { systemClock, type Store } from '../../kernel/index.ts';
import { onEveryStore } from '../../testkit/stores.ts';
import type { A2aService } from './service.ts';
import { StoreTaskStore } from './task-store.ts';
import { serveEchoAgent, userMessage, type Listening } from './testing.ts';

const storedState = async (store: Store, id: string): Promise<TaskState | undefined> => {
  const row = await store.get<{ state: number | string }>('SELECT state FROM a2a_tasks WHERE id = ?', [id]);
  return row === undefined ? undefined : Number(row.state);
};

/** Waits (at most a second) for the stored state of task `id` to be `state`, then asserts it. */
async function until(store: Store, id: string, state: TaskState): Promise<void> {
  for (let i = 0; i < 200 && (await storedState(store, id)) !== state; i++) await delay(5);
  assert.equal(await storedState(store, id), state);
}

onEveryStore('A2A task store writes', (db) => {
  let store: Store;
  let server: Listening & { service: A2aService };
  let service: A2aService;
  let client: Client;
  let release: () => void = () => undefined;
  let taskWrites = 0;

  before(async () => {
    store = await db().open();
    server = await serveEchoAgent(store, async (turn) => {
      if (turn.text === 'wait') await new Promise<void>((resolve) => (release = resolve));
      return { state: 'completed', text: `echo: ${turn.text}` };
    });
    service = server.service;
    client = await new ClientFactory().createFromUrl(`${server.url}/a2a/echo/`);
    // Counts the writes the real store receives (the instance keeps working as before).
    const run = store.run.bind(store);
    store.run = (sql, params) => {
      if (sql.includes('INTO a2a_tasks')) taskWrites++;
      return run(sql, params);
    };
  });
  after(async () => {
    release();
    await service.drain();
    await server.close();
    await store.close();
  });

  it('writes a one-turn task once (four saves), COMPLETED before the answer arrives', async () => {
    taskWrites = 0;
    const sent = await client.sendMessage({
      tenant: '',
      message: userMessage('hi'),
      configuration: undefined,
      metadata: undefined,
    });
    assert.ok(!('messageId' in sent));
    const task = sent;
    assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(await storedState(store, task.id), TaskState.TASK_STATE_COMPLETED);
    assert.equal(taskWrites, 1);
  });

  it('stores the SUBMITTED task an immediate answer reports before answering, then WORKING', async () => {
    const sent = await client.sendMessage({
      tenant: '',
      message: userMessage('wait'),
      configuration: {
        acceptedOutputModes: [],
        taskPushNotificationConfig: undefined,
        returnImmediately: true,
      },
      metadata: undefined,
    });
    assert.ok(!('messageId' in sent));
    assert.equal(sent.status?.state, TaskState.TASK_STATE_SUBMITTED);
    const id = sent.id;
    assert.ok((await storedState(store, id)) !== undefined, 'the reported task is stored');
    // Written on the next turn; on PostgreSQL the write itself takes a few more.
    await until(store, id, TaskState.TASK_STATE_WORKING);
    release();
    await until(store, id, TaskState.TASK_STATE_COMPLETED);
    assert.equal(await storedState(store, id), TaskState.TASK_STATE_COMPLETED);
  });

  it('holds a working save until flushed or settled; an older state never lands last', async () => {
    const tasks = new StoreTaskStore({ store, agent: 'order', clock: systemClock });
    const context = new ServerCallContext();
    const at = (state: TaskState): Task =>
      Task.fromJSON({
        id: 'ordered',
        contextId: 'c',
        status: { state: TaskState[state], timestamp: new Date().toISOString() },
      });
    const stored = async () =>
      (
        await store.get<{ state: number | string }>(
          "SELECT state FROM a2a_tasks WHERE agent = 'order' AND id = 'ordered'",
        )
      )?.state;
    await tasks.save(at(TaskState.TASK_STATE_SUBMITTED), context);
    assert.equal(await stored(), undefined, 'held, not written yet');
    assert.equal((await tasks.load('ordered', context))?.status?.state, TaskState.TASK_STATE_SUBMITTED);
    await tasks.flush();
    assert.equal(Number(await stored()), TaskState.TASK_STATE_SUBMITTED, 'flush writes it');
    await tasks.save(at(TaskState.TASK_STATE_WORKING), context);
    await tasks.save(at(TaskState.TASK_STATE_COMPLETED), context);
    await delay(20); // past the deferred write of WORKING, which must find nothing left to write
    assert.equal(Number(await stored()), TaskState.TASK_STATE_COMPLETED);
  });
});
