export { SPLIT_DONE, runSplit } from './run-split.ts';
export type { BatchSource, ChunkReport, CommitTarget, RunSplitOptions, SplitResult, SplitTask } from './run-split.ts';
export { defaultJobSearchPaths, loadJob } from './load-job.ts';
export type { LoadJobOptions } from './load-job.ts';
export { computeAutoShiftSeconds, parseEventTimeBound, parseTimeShift, resolveRunOptions } from './run-options.ts';
export type { RunOptions, TimeShift } from './run-options.ts';
export { runLocal } from './local-run.ts';
export type { LocalRunOptions, LocalRunSummary } from './local-run.ts';
