/**
 * @module orchestration/budget-pause
 * Budget exhaustion pauses runs instead of failing them (issue 12): one escalation and one
 * approval per exhausted budget, however many runs hit it; an approved raise resumes them all.
 */
export { BudgetPauses, type BudgetRaiser } from './budget-pauses.ts';
export { BUDGET_PAUSES_LAYER, budgetPauseMigrations } from './migrations.ts';
export { isBudgetPause, pauseForBudget } from './pause.ts';
export { proposeLimit, type BudgetPause, type ExhaustedBudget, type PauseStatus } from './pauses.ts';
export { budgetPauseSchema, budgetPauseSyscalls } from './syscalls.ts';
