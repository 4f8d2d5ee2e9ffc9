/**
 * Partition bounds for the coordinator's planning: where each partition's log starts, where it
 * ends, and which offset a point in time maps to. Offsets are numbers, like everywhere in Sluice.
 */
import { FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { LogBounds } from './classify-fetch-error.ts';
import type { ClientInternals } from './client.ts';
import { openKafkaSource } from './kafka-source.ts';
import type { KafkaSource } from './kafka-source.ts';
import { invalidOption, requireInteger, requireTopic } from './options.ts';

/** Options of `listOffsets`. */
export type ListOffsetsOptions = KafkaSource & {
  topic: string;
  /** Partitions to report; all of the topic's when omitted. */
  partitions?: readonly number[];
  /** Also find, per partition, the first offset whose timestamp is at or after this (ms since the epoch). */
  timestamp?: number;
};

/** The bounds of one partition. */
export interface PartitionOffsets {
  partition: number;
  /** First offset still in the log (earliest); a range starting below it has a gap. */
  logStartOffset: number;
  /** One past the last replicated record (latest, READ_UNCOMMITTED). */
  highWatermark: number;
  /**
   * One past the last record a READ_COMMITTED reader sees: below `highWatermark` while a transaction
   * is open. `readRange` waits at this offset, so plan ranges up to it.
   */
  lastStableOffset: number;
  /** With `timestamp`: the first offset at or after it, or null when every record is older. */
  offsetForTimestamp?: number | null;
}

/** Reads the log start, high watermark and last stable offset (and a time's offset) per partition. */
export async function listOffsets(options: ListOffsetsOptions): Promise<PartitionOffsets[]> {
  const topic = requireTopic(options.topic);
  if (options.partitions !== undefined && !Array.isArray(options.partitions)) throw invalidOption('partitions', options.partitions, 'an array');
  const partitions = options.partitions?.map((p, i) => requireInteger(p, `partitions[${i}]`, 0, 2 ** 31 - 1));
  const timestamp = options.timestamp === undefined ? undefined : requireInteger(options.timestamp, 'timestamp', 0);
  const lease = openKafkaSource(options);
  try {
    const { internals } = lease;
    const count = await internals.countPartitions(topic);
    const ids = partitions ?? Array.from({ length: count }, (_, i) => i);
    const missing = ids.filter((p) => p >= count);
    if (missing.length > 0) {
      throw new SluiceError(ErrorCode.NOT_FOUND, `topic ${topic} has ${count} partitions; no partition ${missing.join(', ')}`, {
        retryable: false,
        context: { topic, partitions: count, missing },
      });
    }
    const { READ_COMMITTED, READ_UNCOMMITTED } = FetchIsolationLevels;
    const [earliest, latest, stable, atTime] = await Promise.all([
      internals.queryOffsets(topic, ids, ListOffsetTimestamps.EARLIEST, READ_UNCOMMITTED),
      internals.queryOffsets(topic, ids, ListOffsetTimestamps.LATEST, READ_UNCOMMITTED),
      internals.queryOffsets(topic, ids, ListOffsetTimestamps.LATEST, READ_COMMITTED),
      timestamp === undefined ? undefined : internals.queryOffsets(topic, ids, BigInt(timestamp), READ_COMMITTED),
    ]);
    return ids.map((partition) => {
      const offsets: PartitionOffsets = {
        partition,
        logStartOffset: pick(earliest, partition),
        highWatermark: pick(latest, partition),
        lastStableOffset: pick(stable, partition),
      };
      if (atTime !== undefined) {
        const found = pick(atTime, partition);
        offsets.offsetForTimestamp = found < 0 ? null : found;
      }
      return offsets;
    });
  } finally {
    await lease.release();
  }
}

/** Log start offset and high watermark of one partition: what the range reader checks on OFFSET_OUT_OF_RANGE. */
export async function readLogBounds(internals: ClientInternals, topic: string, partition: number): Promise<LogBounds> {
  const { READ_UNCOMMITTED } = FetchIsolationLevels;
  const [earliest, latest] = await Promise.all([
    internals.queryOffsets(topic, [partition], ListOffsetTimestamps.EARLIEST, READ_UNCOMMITTED),
    internals.queryOffsets(topic, [partition], ListOffsetTimestamps.LATEST, READ_UNCOMMITTED),
  ]);
  return { logStartOffset: pick(earliest, partition), highWatermark: pick(latest, partition) };
}

function pick(offsets: Map<number, number>, partition: number): number {
  return offsets.get(partition) ?? -1;
}
