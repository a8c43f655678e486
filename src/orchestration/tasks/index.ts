/**
 * @module orchestration/tasks
 * The fleet's task board: a task is claimed by exactly one agent (see board.ts).
 *
 * Any new export added here becomes public API.
 */
export { TaskBoard, type Task, type TaskStatus } from './board.ts';
export { leaseIncarnation, type Holder } from './holders.ts';
export { TASKS_LAYER, taskMigrations } from './migrations.ts';
export { taskSyscalls } from './syscalls.ts';
