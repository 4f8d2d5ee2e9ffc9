export { createCoordinator } from './coordinator.ts';
export type { Coordinator, CoordinatorOptions } from './coordinator.ts';
export { planBackfill } from './plan-backfill.ts';
export type { BackfillPlan, InputFile } from './plan-backfill.ts';
