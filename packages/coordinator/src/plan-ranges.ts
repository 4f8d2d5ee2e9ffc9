/**
 * Stream planning as a pure function: given where each partition of a stream run stands and what
 * Kafka holds, which offset ranges `[from, until)` to plan now. Ranges start as soon as records
 * exist (a range may be one record long), so latency stays low when traffic is light, and grow up to
 * the limits when a backlog builds while earlier ranges are in flight. Offsets deleted by retention
 * before they were planned are reported as gaps, never planned: a read of them could only fail.
 */
import { ErrorCode, SluiceError } from '@sluice/core';

/** Where one partition stands, as the planner sees it. */
export interface PartitionPlanInput {
  partition: number;
  /** The next offset to plan from (the stored `planned` position). */
  planned: number;
  /** Where planning may go: the last stable offset, since READ_COMMITTED reads wait there. */
  endOffset: number;
  /** First offset still in the log; offsets below it were deleted by retention. */
  logStartOffset: number;
  /** Ranges planned and not yet completed. */
  inFlight: number;
  /** Average value bytes per record seen so far; with `maxBytes`, bounds ranges by size too. */
  bytesPerRecordEstimate?: number;
}

/** How much may be planned. */
export interface RangePlanningLimits {
  /** Records per range at most. */
  maxRecords: number;
  /** Bytes per range, approximately: applied through `bytesPerRecordEstimate` when a partition has one. */
  maxBytes?: number;
  /** Ranges planned and not completed per partition at most. */
  maxInFlightPerPartition: number;
}

/** Offsets `[from, until)` of one partition. */
export interface OffsetRange {
  partition: number;
  from: number;
  until: number;
}

/** What to plan now. */
export interface RangePlanning {
  /** Ranges to reserve and enqueue, each partition's in offset order, partitions interleaved. */
  ranges: OffsetRange[];
  /**
   * Offsets deleted by retention before they were planned, at most one per partition. Record them
   * (which moves `planned` to their `until`) before reserving that partition's ranges, which start there.
   */
  gaps: OffsetRange[];
}

/** Where a stream run starts on a partition it has not seen: `earliest`, `latest` or an event time. */
export type StreamStart = 'earliest' | 'latest' | { timestampMs: number };

/** The offsets a start resolves against, as `listOffsets` reports them. */
export interface StartOffsets {
  logStartOffset: number;
  /** The last stable offset. */
  endOffset: number;
  /** With a timestamp asked for: the first offset at or after it, or null when every record is older. */
  offsetForTimestamp?: number | null;
}

/**
 * Plans the ranges due now: per partition, from `max(planned, logStartOffset)` up to `endOffset`, at
 * most `maxInFlightPerPartition - inFlight` ranges, each at most `maxRecords` long and about
 * `maxBytes` by the partition's estimate. Ranges of one partition are contiguous and never overlap.
 */
export function planRanges(partitions: readonly PartitionPlanInput[], limits: RangePlanningLimits): RangePlanning {
  const maxRecords = requireLimit(limits.maxRecords, 'maxRecords');
  const maxInFlight = requireLimit(limits.maxInFlightPerPartition, 'maxInFlightPerPartition');
  const maxBytes = limits.maxBytes === undefined ? undefined : requireLimit(limits.maxBytes, 'maxBytes');
  const seen = new Set<number>();
  const gaps: OffsetRange[] = [];
  const perPartition: OffsetRange[][] = [];
  for (const input of partitions) {
    checkInput(input, seen);
    let from = input.planned;
    if (from < input.logStartOffset) {
      gaps.push({ partition: input.partition, from, until: input.logStartOffset });
      from = input.logStartOffset;
    }
    const size = Math.min(maxRecords, recordsForBytes(maxBytes, input.bytesPerRecordEstimate));
    const ranges: OffsetRange[] = [];
    for (let slots = maxInFlight - input.inFlight; slots > 0 && from < input.endOffset; slots -= 1) {
      const until = Math.min(input.endOffset, from + size);
      ranges.push({ partition: input.partition, from, until });
      from = until;
    }
    perPartition.push(ranges);
  }
  // Interleaved, so a caller that enqueues in order serves every partition's oldest records first.
  const ranges: OffsetRange[] = [];
  const total = perPartition.reduce((n, list) => n + list.length, 0);
  for (let wave = 0; ranges.length < total; wave += 1) {
    for (const list of perPartition) {
      const range = list[wave];
      if (range !== undefined) ranges.push(range);
    }
  }
  return { ranges, gaps };
}

/**
 * The offset a stream run starts at on a partition it has not seen: the log start for `earliest`,
 * the end for `latest`, and for a time the first offset at or after it (the end when all is older).
 */
export function resolveStartOffset(start: StreamStart, offsets: StartOffsets): number {
  if (start === 'earliest') return offsets.logStartOffset;
  if (start === 'latest') return offsets.endOffset;
  if (offsets.offsetForTimestamp === undefined) {
    throw new SluiceError(ErrorCode.INTERNAL, `a start at ${new Date(start.timestampMs).toISOString()} needs the offsets listed for that timestamp`, {
      retryable: false,
      context: { timestampMs: start.timestampMs },
    });
  }
  return Math.max(offsets.logStartOffset, offsets.offsetForTimestamp ?? offsets.endOffset);
}

function recordsForBytes(maxBytes: number | undefined, bytesPerRecord: number | undefined): number {
  if (maxBytes === undefined || bytesPerRecord === undefined || !(bytesPerRecord > 0)) return Number.POSITIVE_INFINITY;
  // A record larger than maxBytes still gets a range of its own: progress beats the byte bound.
  return Math.max(1, Math.floor(maxBytes / bytesPerRecord));
}

function requireLimit(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `${option} must be a positive integer, got ${String(value)}`, { retryable: false, context: { option, value } });
  }
  return value;
}

function checkInput(input: PartitionPlanInput, seen: Set<number>): void {
  const { partition, planned, endOffset, logStartOffset, inFlight } = input;
  const offsets = { partition, planned, endOffset, logStartOffset, inFlight };
  const bad = Object.entries(offsets).find(([, v]) => !Number.isSafeInteger(v) || v < 0);
  if (bad !== undefined || seen.has(partition)) {
    const why = bad === undefined ? 'the partition is listed twice' : `${bad[0]} is not a non-negative integer`;
    throw new SluiceError(ErrorCode.INTERNAL, `cannot plan partition ${partition}: ${why}`, { retryable: false, context: offsets });
  }
  seen.add(partition);
}
