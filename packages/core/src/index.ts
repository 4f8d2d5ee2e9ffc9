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
