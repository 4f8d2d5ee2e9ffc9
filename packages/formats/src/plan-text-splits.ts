/**
 * Byte-range planning for splittable text files. The ranges are cut blindly at byte positions;
 * `readSplit` applies Hadoop's line rule so that every line is read by exactly one split whatever
 * the cut points are.
 */
import { ErrorCode, SluiceError } from '@sluice/core';

/** A half-open byte range `[start, end)` of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A last piece up to this fraction larger than the target joins the previous split instead of
 * becoming a tiny split of its own (Hadoop's `SPLIT_SLOP`).
 */
const SPLIT_SLOP = 1.1;

/**
 * Cuts `[0, size)` into consecutive ranges of `targetSize` bytes; the last one may be up to 10%
 * longer rather than leave a sliver. An empty file has no splits.
 */
export function planTextSplits(size: number, targetSize: number): ByteRange[] {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `file size must be a non-negative integer, got ${size}`, { context: { size } });
  }
  if (!Number.isSafeInteger(targetSize) || targetSize < 1) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `split size must be a positive integer number of bytes, got ${targetSize}`, {
      context: { targetSize },
    });
  }
  const splits: ByteRange[] = [];
  let start = 0;
  while ((size - start) / targetSize > SPLIT_SLOP) {
    splits.push({ start, end: start + targetSize });
    start += targetSize;
  }
  if (size > start) splits.push({ start, end: size });
  return splits;
}
