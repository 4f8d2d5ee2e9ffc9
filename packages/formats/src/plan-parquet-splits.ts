/**
 * Split planning for Parquet. A row group is the smallest unit a reader can decode without reading
 * another one, so splits are runs of whole row groups, found from the footer alone. Splits are
 * expressed in rows, `[firstRow, endRow)`, which is also the position `readSplit` reports for each
 * record and accepts as `resumeFrom`.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import { openParquetFile } from './parquet-file.ts';
import type { ParquetFile } from './parquet-file.ts';
import { parseTimestampMicros } from './parse-timestamp.ts';

/** A split of a Parquet file: rows `[start, end)`, whole row groups. */
export interface ParquetRowRange {
  /** Row index of the first row of its first row group. */
  start: number;
  /** Row index just after its last row group. */
  end: number;
  /** Index of its first row group. */
  firstRowGroup: number;
  rowGroups: number;
  /** Compressed bytes of its row groups. */
  bytes: number;
}

/** Event-time bounds of a backfill (`--since`/`--until`, epoch µs) and the column the job reads its event time from. */
export interface EventTimeBounds {
  column: string;
  /** Rows before it are dropped by the run. */
  since?: number;
  /** Rows at or after it are dropped by the run. */
  until?: number;
}

/** The bounds a run's `since`/`until` give on `column`, or undefined when it has neither (nothing to skip). */
export function eventTimeBounds(column: string, since: number | undefined, until: number | undefined): EventTimeBounds | undefined {
  if (since === undefined && until === undefined) return undefined;
  return { column, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) };
}

/** Options of `planParquetSplits`. */
export interface PlanParquetOptions {
  /** Skip row groups whose statistics prove every row lies outside these bounds. */
  eventTime?: EventTimeBounds;
  /** Counts the row groups skipped, for the caller's log. */
  skipped?: { rowGroups: number };
}

/**
 * Groups consecutive row groups until their compressed size reaches `targetBytes`; a row group
 * larger than the target is a split of its own, and a file without rows has no splits. Reads only
 * the footer. Throws CORRUPT_INPUT (not retryable) for a file whose footer does not decode. With
 * `eventTime`, a row group every row of which the run would drop is left out (`rowGroupOutside`),
 * and the splits on either side of it do not join across it.
 */
export async function planParquetSplits(reader: RangeReader, targetBytes: number, options: PlanParquetOptions = {}): Promise<ParquetRowRange[]> {
  if (!Number.isSafeInteger(targetBytes) || targetBytes < 1) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `split size must be a positive integer number of bytes, got ${targetBytes}`, {
      context: { url: reader.url, targetBytes },
    });
  }
  const file = await openParquetFile(reader);
  const splits: ParquetRowRange[] = [];
  let current: ParquetRowRange | undefined;
  for (const [index, group] of file.rowGroups.entries()) {
    if (options.eventTime !== undefined && rowGroupOutside(file, index, options.eventTime)) {
      if (options.skipped !== undefined) options.skipped.rowGroups += 1;
      if (current !== undefined && current.end > current.start) splits.push(current);
      current = undefined;
      continue;
    }
    current ??= { start: group.start, end: group.start, firstRowGroup: index, rowGroups: 0, bytes: 0 };
    current.end = group.start + group.rows;
    current.rowGroups += 1;
    current.bytes += group.bytes;
    if (current.bytes >= targetBytes) {
      if (current.end > current.start) splits.push(current);
      current = undefined;
    }
  }
  if (current !== undefined && current.end > current.start) splits.push(current);
  return splits;
}

/**
 * Whether the statistics of row group `index` prove that every row's event time lies outside
 * `bounds`. Only a column of a Parquet timestamp type is trusted: its statistics order instants,
 * whereas the byte order of timestamp strings is not time order once their formats differ
 * (`…:20Z` sorts after `…:20.5Z`). A group with nulls in the column, or with no statistics, is
 * kept: its rows without an event time are bad records the run must count and keep.
 */
export function rowGroupOutside(file: ParquetFile, index: number, bounds: EventTimeBounds): boolean {
  if (bounds.since === undefined && bounds.until === undefined) return false;
  const element = file.columns.find((c) => c.element.name === bounds.column)?.element;
  if (element === undefined || element.type !== 'INT64' || element.repetition_type === 'REPEATED') return false;
  if (!(element.converted_type?.startsWith('TIMESTAMP_') === true || element.logical_type?.type === 'TIMESTAMP')) return false;
  const chunk = file.metadata.row_groups[index]?.columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === bounds.column);
  const stats = chunk?.meta_data?.statistics;
  if (stats === undefined || stats.null_count === undefined || Number(stats.null_count) !== 0) return false;
  // Timestamps arrive as ISO strings (`PARQUET_PARSERS`), parsed as the job's event time parses them.
  const min = parseTimestampMicros(stats.min_value ?? stats.min);
  const max = parseTimestampMicros(stats.max_value ?? stats.max);
  if (min === undefined || max === undefined) return false;
  return (bounds.since !== undefined && max < bounds.since) || (bounds.until !== undefined && min >= bounds.until);
}
