/**
 * @module orchestration/problems
 * The "needs you" list (issue 14): {@link listProblems} and the `fleet.problems` syscall.
 */
export { listProblems, problemMigrations, PROBLEMS_LAYER, type ProblemsOptions } from './problems.ts';
export { problemsSyscall } from './syscall.ts';
export { driverProblems, driversSyscall } from './drivers.ts';
export {
  PROBLEM_KINDS,
  problemSchema,
  problemsSchema,
  type Problem,
  type ProblemKind,
  type Problems,
} from './types.ts';
