export { COMMIT_PROTOCOL, createTimeseriesStore } from './store.ts';
export type { CommitResult, InsertResult, SplitProgress, TimeseriesStore, TimeseriesStoreOptions } from './store.ts';
export type { GetOptions, Properties, SeriesOptions, SeriesResult } from './reader.ts';
export { condenseRows, decodeRow } from './rows.ts';
export type { Point, RawRow, Row } from './rows.ts';
export { planAggregates, planInsert } from './commit-plan.ts';
export type { CommitOp, CommitPlan } from './commit-plan.ts';
export { encodeCommitArgs } from './commit-args.ts';
export type { CommitArgs, FenceArgs } from './commit-args.ts';
export { resolveFamilies } from './families.ts';
export type { SeriesFamily } from './families.ts';
export {
  SLUICE_NAMESPACE,
  fenceKey,
  gaugeTimeKey,
  intervalKey,
  metricPattern,
  normalizePrefix,
  resolutionKey,
  runDeadLettersKey,
  runStatsKey,
  seriesOrderKey,
} from './keys.ts';
