export { ErrorCode, SluiceError, coerceError, isRetryableCode, isSluiceError } from './errors.ts';
export type { SerializedError, SluiceErrorOptions } from './errors.ts';
export { SeriesType } from './series.ts';
export type { IntervalDecl, SeriesDecl, StepSpec, ValueKind } from './series.ts';
export type {
  Aggregate,
  AggregateTarget,
  Chunk,
  ChunkStats,
  CountAggregate,
  DeadLetter,
  GaugeAggregate,
  HistogramAggregate,
  SeriesAggregate,
  SetAggregate,
} from './aggregate.ts';
export type { RangeReader } from './source.ts';
export { FRAMEWORK_OPTION_NAMES, defineJob } from './job.ts';
export type { Emit, JobDefinition, ProcessContext } from './job.ts';
export { createCombiner } from './combiner.ts';
export type { Combiner, CombinerOptions, EmitSlot } from './combiner.ts';
export { GregorianStep, createBucketCalc, createIntervalCalc, resolveStep } from './intervals.ts';
export type { BucketCalc, IntervalCalc, ResolvedStep } from './intervals.ts';
export { encodePythonFloat, encodeValue } from './encode.ts';
export { COMMIT_PROTOCOL_FIELD, FENCES_PRUNED_FIELD, fenceKey, parseRangeSplitId, rangeFloorField, rangeSplitId, rangeUrl, runDeadLettersKey, runStatsKey } from './run-keys.ts';
export { createRepeatFilter } from './repeat-filter.ts';
export type { RepeatFilter } from './repeat-filter.ts';
export { settledWithin } from './settled-within.ts';
