/**
 * An in-memory partition for unit tests of the range reader: record batches with real offsets,
 * a log start offset that retention can raise, a high watermark that appends move, and a fake of
 * the client internals that answers Fetch and ListOffsets from it the way a broker would.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordsBatch } from '@platformatic/kafka';
import type { ClientInternals, PartitionLocation } from '../src/client.ts';
import type { PartitionFetchResult } from '../src/node-fetcher.ts';

/** Builds a record batch with the given first offset, as the broker would return it. */
export function makeBatch(
  firstOffset: number,
  values: readonly (string | null)[],
  extra: { attributes?: number; producerId?: bigint; firstTimestamp?: number; offsetDeltas?: readonly number[]; lastOffsetDelta?: number } = {},
): RecordsBatch {
  const deltas = extra.offsetDeltas ?? values.map((_, i) => i);
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes: extra.attributes ?? 0,
    lastOffsetDelta: extra.lastOffsetDelta ?? Math.max(0, (deltas.at(-1) ?? 0)),
    firstTimestamp: BigInt(extra.firstTimestamp ?? 1_700_000_000_000),
    maxTimestamp: BigInt((extra.firstTimestamp ?? 1_700_000_000_000) + values.length),
    producerId: extra.producerId ?? -1n,
    producerEpoch: 0,
    firstSequence: 0,
    records: values.map((value, i) => ({
      length: 0,
      attributes: 0,
      timestampDelta: BigInt(i),
      offsetDelta: deltas[i] ?? i,
      key: null,
      value: value === null ? null : Buffer.from(value),
      headers: [],
    })),
  };
}

/** A control batch (commit or abort marker) of a transactional producer. */
export function makeControlBatch(offset: number, producerId: bigint, type: 0 | 1): RecordsBatch {
  const batch = makeBatch(offset, ['marker'], { attributes: 0x30, producerId });
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type, 2);
  batch.records[0]!.key = key;
  return batch;
}

/** One fetch as the fake broker saw it. */
export interface FetchCall {
  offset: number;
  maxBytes: number;
  leaderEpoch: number;
}

/** The fake partition and the knobs tests turn. */
export interface FakePartition {
  batches: RecordsBatch[];
  logStartOffset: number;
  calls: FetchCall[];
  locates: boolean[];
  /** Errors to answer the next fetches with, one per fetch, before serving data. */
  errors: number[];
  /** Exceptions to throw from the next fetches (a dropped connection). */
  throws: Error[];
  invalidations: number;
  highWatermark(): number;
  /** Appends values as one batch at the high watermark. */
  append(values: readonly string[]): void;
  internals: ClientInternals;
}

/** A partition holding `count` records `v0…` in batches of `batchSize`. */
export function createFakePartition(count: number, batchSize: number): FakePartition {
  const part: FakePartition = {
    batches: [],
    logStartOffset: 0,
    calls: [],
    locates: [],
    errors: [],
    throws: [],
    invalidations: 0,
    highWatermark() {
      const last = part.batches.at(-1);
      return last === undefined ? 0 : Number(last.firstOffset) + last.lastOffsetDelta + 1;
    },
    append(values) {
      part.batches.push(makeBatch(part.highWatermark(), values));
    },
    internals: undefined as unknown as ClientInternals,
  };
  for (let offset = 0; offset < count; offset += batchSize) {
    const values = Array.from({ length: Math.min(batchSize, count - offset) }, (_, i) => `v${offset + i}`);
    part.append(values);
  }
  const location: PartitionLocation = { topic: 't', topicId: 'id', partition: 0, leader: 1, leaderEpoch: 3 };
  part.internals = {
    brokers: ['fake:9092'],
    async locate(_topic, _partition, refresh) {
      part.locates.push(refresh);
      return location;
    },
    async countPartitions() {
      return 1;
    },
    async queryOffsets(_topic, partitions, timestamp) {
      const value = timestamp === -2n ? part.logStartOffset : part.highWatermark();
      return new Map(partitions.map((p) => [p, value]));
    },
    async fetch(loc, request, signal): Promise<PartitionFetchResult> {
      part.calls.push({ offset: request.offset, maxBytes: request.maxBytes, leaderEpoch: loc.leaderEpoch });
      const thrown = part.throws.shift();
      if (thrown !== undefined) throw thrown;
      const hw = part.highWatermark();
      const bounds = { highWatermark: hw, lastStableOffset: hw, logStartOffset: part.logStartOffset, abortedTransactions: null };
      const errorCode = part.errors.shift();
      if (errorCode !== undefined) return { ...bounds, errorCode, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, batches: [] };
      if (request.offset < part.logStartOffset || request.offset > hw) {
        return { ...bounds, errorCode: 1, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, batches: [] };
      }
      if (request.offset === hw) {
        // Long poll: hold the fetch briefly, as the broker holds it for maxWaitMs.
        await sleep(Math.min(request.maxWaitMs, 5), undefined, signal === undefined ? undefined : { signal });
        return { ...bounds, errorCode: 0, batches: [] };
      }
      // Whole batches from the one holding the offset; maxBytes counts records here; at least one batch.
      const batches: RecordsBatch[] = [];
      let size = 0;
      for (const batch of part.batches) {
        const last = Number(batch.firstOffset) + batch.lastOffsetDelta;
        if (last < request.offset) continue;
        if (batches.length > 0 && size + batch.records.length > request.maxBytes) break;
        batches.push(batch);
        size += batch.records.length;
      }
      return { ...bounds, errorCode: 0, batches };
    },
    invalidate() {
      part.invalidations++;
    },
    assertOpen() {},
  };
  return part;
}
