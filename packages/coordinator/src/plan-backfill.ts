/**
 * Turns a backfill's inputs into splits. Split ids are built from the file URL and byte range (row
 * range for Parquet), not from positions in a listing, so a resubmitted run finds the same fences
 * even if files were added to the input since.
 */
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import { PAYLOAD_VERSION } from '@sluice/queue';
import type { SplitPayload } from '@sluice/queue';
import { SplitFormat, detectFormat, isSplittable, planParquetSplits, planTextSplits } from '@sluice/formats';
import type { EventTimeBounds } from '@sluice/formats';

/** A file found by listing an input. */
export interface InputFile {
  url: string;
  size: number;
}

/** What planning a backfill produced. */
export interface BackfillPlan {
  splits: SplitPayload[];
  files: number;
  bytes: number;
  /** Parquet row groups left out because their statistics lie outside the run's event-time bounds. */
  skippedRowGroups: number;
}

/**
 * Plans splits for files already listed; `options` are copied into every payload. Text files are
 * cut into byte ranges; a Parquet file into runs of whole row groups, read from its footer through
 * `openReader`, whose payload `start`/`end` are row indices `[firstRow, endRow)`. With `eventTime`,
 * the row groups its bounds exclude entirely are not planned.
 */
export async function planBackfill(
  run: { runId: string; job: string; splitSize: number; options: Record<string, string>; eventTime?: EventTimeBounds },
  files: readonly InputFile[],
  openReader: (url: string) => RangeReader,
): Promise<BackfillPlan> {
  if (files.length === 0) {
    throw new SluiceError(ErrorCode.NOT_FOUND, 'the input matched no file; check the --input URL and glob', { retryable: false, context: { runId: run.runId } });
  }
  const splits: SplitPayload[] = [];
  let bytes = 0;
  const skipped = { rowGroups: 0 };
  for (const file of [...files].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))) {
    const { format, compression } = detectFormat(new URL(file.url).pathname);
    bytes += file.size;
    let ranges: readonly { start: number; end: number }[];
    let rangeId = '';
    if (format === SplitFormat.PARQUET) {
      ranges = await planParquetFile(openReader(file.url), run.splitSize, run.eventTime, skipped);
      rangeId = 'rows=';
    } else {
      ranges = isSplittable(compression) ? planTextSplits(file.size, run.splitSize) : [{ start: 0, end: file.size }];
    }
    for (const range of ranges) {
      splits.push({
        v: PAYLOAD_VERSION,
        runId: run.runId,
        job: run.job,
        splitId: `${file.url}#${rangeId}${range.start}-${range.end === ALL_ROWS ? 'end' : range.end}`,
        ordinal: splits.length,
        url: file.url,
        format,
        compression,
        start: range.start,
        end: range.end,
        options: run.options,
      });
    }
  }
  return { splits, files: files.length, bytes, skippedRowGroups: skipped.rowGroups };
}

/** The end of a split that takes every row of its file, whatever their number (`readSplit` stops at the last). */
const ALL_ROWS = Number.MAX_SAFE_INTEGER;

/**
 * The row ranges of one Parquet file. A file whose footer does not decode becomes one split of all
 * its rows: it fails on a worker with the decoder's CORRUPT_INPUT, and the run names it among its
 * failed splits, while the other files of the input are read as usual.
 */
async function planParquetFile(reader: RangeReader, splitSize: number, eventTime: EventTimeBounds | undefined, skipped: { rowGroups: number }): Promise<readonly { start: number; end: number }[]> {
  try {
    return await planParquetSplits(reader, splitSize, eventTime === undefined ? { skipped } : { eventTime, skipped });
  } catch (error) {
    if (isSluiceError(error) && error.code === ErrorCode.CORRUPT_INPUT) return [{ start: 0, end: ALL_ROWS }];
    throw error;
  }
}

/** A range of one file made of adjacent splits, and the splits it is made of. */
export interface MergedRange {
  url: string;
  format: string;
  compression: string;
  start: number;
  end: number;
  parts: readonly SplitPayload[];
}

/**
 * Joins splits that follow each other in one file into one range, so a pass over a whole input
 * (timeShift=auto) opens each file once, not once per split: under Hadoop's rule the lines (or
 * rows) that start in `[a, b)` and `[b, c)` are exactly those that start in `[a, c)`.
 */
export function mergeAdjacentSplits(splits: readonly SplitPayload[]): MergedRange[] {
  const merged: MergedRange[] = [];
  let current: (MergedRange & { parts: SplitPayload[] }) | undefined;
  for (const split of splits) {
    if (current !== undefined && current.url === split.url && current.format === split.format && current.compression === split.compression && current.end === split.start) {
      current.end = split.end;
      current.parts.push(split);
      continue;
    }
    current = { url: split.url, format: split.format, compression: split.compression, start: split.start, end: split.end, parts: [split] };
    merged.push(current);
  }
  return merged;
}
