/**
 * How far a stream run is behind, per partition, from what is stored with its positions: the
 * end offset and newest record timestamp the coordinator last saw, and the committed offset and
 * newest committed record timestamp the workers advanced. Pure, so `sluice status` and any later
 * HTTP API or UI compute it the same way from the same Redis state.
 */
import type { PartitionPositions } from './stream-positions.ts';

/** Lag of one partition of a stream run. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** End offset the coordinator last saw (the committed offset before it saw any). */
  endOffset: number;
  /** Every offset below this is committed. */
  committed: number;
  lagRecords: number;
  /**
   * Seconds of event time behind: the newest record timestamp in the partition minus the newest
   * committed one (Kafka timestamps); 0 when caught up; null while either is unknown (nothing of
   * the partition committed yet, or no end seen).
   */
  lagSeconds: number | null;
  /** Greatest Kafka timestamp in the partition when its end was seen (ms), or null. */
  newestTimestamp: number | null;
  /** Greatest Kafka timestamp of the committed records (ms), or null. */
  committedTimestamp: number | null;
  /**
   * Offsets committed per second since the run started the partition (transaction markers count
   * as records); null before any time has passed or for positions stored without a start.
   */
  recordsPerSecond: number | null;
  /** When the end offset was seen (ms), or null. */
  endSeenAt: number | null;
}

/** Computes one partition's lag from its stored positions, as of `now` (ms). */
export function computePartitionLag(p: PartitionPositions, now: number = Date.now()): PartitionLag {
  const endOffset = p.endOffset ?? p.committed;
  const lagRecords = Math.max(0, endOffset - p.committed);
  const newest = p.newestTimestamp ?? null;
  const committedTs = p.committedTimestamp ?? null;
  // Caught up means no event time is missing, whatever the timestamps say.
  const lagSeconds = lagRecords === 0 && p.endOffset !== undefined ? 0
    : newest === null || committedTs === null ? null
    : Math.max(0, newest - committedTs) / 1000;
  const elapsedSeconds = p.startedAt === undefined ? 0 : (now - p.startedAt) / 1000;
  const recordsPerSecond = p.startOffset === undefined || elapsedSeconds <= 0 ? null : Math.max(0, p.committed - p.startOffset) / elapsedSeconds;
  return {
    topic: p.topic,
    partition: p.partition,
    endOffset,
    committed: p.committed,
    lagRecords,
    lagSeconds,
    newestTimestamp: newest,
    committedTimestamp: committedTs,
    recordsPerSecond,
    endSeenAt: p.endSeenAt ?? null,
  };
}
