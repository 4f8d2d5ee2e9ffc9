export { DEFAULT_STREAM_POLL_MS, createCoordinator, logCoordinatorLine } from './coordinator.ts';
export type { Coordinator, CoordinatorOptions, ListInputOptions } from './coordinator.ts';
export { mergeAdjacentSplits, planBackfill } from './plan-backfill.ts';
export type { BackfillPlan, InputFile, MergedRange } from './plan-backfill.ts';
export { DEFAULT_RANGE_LIMITS, parseStreamStart, rangePayload, rangeSplitId, tickStreamRun } from './stream-loop.ts';
export type { PartitionOffsetsView, PartitionPosition, RangeLimits, StreamKafka, StreamPositionsView } from './stream-loop.ts';
export { planRanges, resolveStartOffset } from './plan-ranges.ts';
export type { OffsetRange, PartitionPlanInput, RangePlanning, RangePlanningLimits, StartOffsets, StreamStart } from './plan-ranges.ts';
