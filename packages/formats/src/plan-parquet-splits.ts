/**
 * Split planning for Parquet. A row group is the smallest unit a reader can decode without reading
 * another one, so splits are runs of whole row groups, found from the footer alone. Splits are
 * expressed in rows, `[firstRow, endRow)`, which is also the position `readSplit` reports for each
 * record and accepts as `resumeFrom`.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';
import { openParquetFile } from './parquet-file.ts';

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

/**
 * Groups consecutive row groups until their compressed size reaches `targetBytes`; a row group
 * larger than the target is a split of its own, and a file without rows has no splits. Reads only
 * the footer. Throws CORRUPT_INPUT (not retryable) for a file whose footer does not decode.
 */
export async function planParquetSplits(reader: RangeReader, targetBytes: number): Promise<ParquetRowRange[]> {
  if (!Number.isSafeInteger(targetBytes) || targetBytes < 1) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `split size must be a positive integer number of bytes, got ${targetBytes}`, {
      context: { url: reader.url, targetBytes },
    });
  }
  const file = await openParquetFile(reader);
  const splits: ParquetRowRange[] = [];
  let current: ParquetRowRange | undefined;
  for (const [index, group] of file.rowGroups.entries()) {
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
