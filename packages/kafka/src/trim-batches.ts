/**
 * Turns the record batches of one fetch into the records of a range. A fetch answers with whole
 * batches from the one containing the fetch offset, so the first batch may start before the range
 * and the last may run past it; transactions add control batches and, under READ_COMMITTED, batches
 * of aborted transactions that the broker still sends and the client must drop. Pure, so the rules
 * are tested without a broker.
 */

/** One Kafka record of a range. `offset` is a number: offsets stay below 2^53 (Number.MAX_SAFE_INTEGER). */
export interface RangeRecord {
  offset: number;
  /** Milliseconds since the epoch: the producer's time, or the broker's with `LogAppendTime`. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** In wire order; keys are UTF-8, a key may repeat. */
  headers: [key: string, value: Buffer | null][];
}

/** What one fetch contributed to a range: records in offset order, never empty. */
export interface RangeBatch {
  records: RangeRecord[];
}

/** The parts of a fetched record batch that trimming reads (the library's `RecordsBatch` has them). */
export interface FetchedBatch {
  firstOffset: bigint;
  lastOffsetDelta: number;
  attributes: number;
  firstTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  records: readonly FetchedRecord[];
}

/** The parts of a fetched record that trimming reads. */
export interface FetchedRecord {
  offsetDelta: number;
  timestampDelta: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly (readonly [Buffer | null, Buffer | null])[];
}

/** An aborted transaction as the fetch response lists it: its producer and first offset. */
export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

/** Where trimming starts and stops, and which transactions were aborted. */
export interface TrimWindow {
  /** The fetch position: records below it were delivered already (or precede the range). */
  position: number;
  /** Exclusive end of the range. */
  until: number;
  abortedTransactions?: readonly AbortedTransaction[] | null;
}

/** The records in the window, and where the next fetch starts. */
export interface TrimmedBatches {
  records: RangeRecord[];
  /**
   * The offset after the last batch seen, never below `position`. Batches cover offsets without
   * holes, so compacted-away records and skipped control or aborted batches still move it; a batch
   * that starts at or past `until` moves it to that start, which ends the range.
   */
  nextOffset: number;
}

/** Batch attribute bits (Kafka record batch v2). */
export const BatchAttribute = {
  /** Bit 3: timestamps are the broker's append time, stored as the batch's max timestamp. */
  LOG_APPEND_TIME: 0x08,
  TRANSACTIONAL: 0x10,
  CONTROL: 0x20,
} as const;

/** Control record types, in the record key after its int16 version. */
export const ControlType = { ABORT: 0, COMMIT: 1 } as const;

/** Keeps the records with `position <= offset < until`, minus control records and aborted transactions. */
export function trimBatches(batches: readonly FetchedBatch[], window: TrimWindow): TrimmedBatches {
  const { position, until } = window;
  const aborts = (window.abortedTransactions ?? []).toSorted((a, b) => compareBigInt(a.firstOffset, b.firstOffset));
  const abortedProducers = new Set<bigint>();
  let nextAbort = 0;
  const records: RangeRecord[] = [];
  let nextOffset = position;

  for (const batch of batches) {
    const base = Number(batch.firstOffset);
    const last = base + batch.lastOffsetDelta;
    if (last < position) continue;
    nextOffset = Math.max(nextOffset, base);
    if (base >= until) break;
    nextOffset = Math.max(nextOffset, last + 1);
    // Same rule as the Java consumer: a producer is aborted from the first offset of its aborted
    // transaction until its ABORT marker; only its transactional batches in between are dropped.
    while (nextAbort < aborts.length && Number(aborts[nextAbort]!.firstOffset) <= last) {
      abortedProducers.add(aborts[nextAbort]!.producerId);
      nextAbort++;
    }
    if ((batch.attributes & BatchAttribute.CONTROL) !== 0) {
      if (readControlType(batch) === ControlType.ABORT) abortedProducers.delete(batch.producerId);
      continue;
    }
    if ((batch.attributes & BatchAttribute.TRANSACTIONAL) !== 0 && abortedProducers.has(batch.producerId)) continue;

    const logAppendTime = (batch.attributes & BatchAttribute.LOG_APPEND_TIME) !== 0;
    for (const record of batch.records) {
      const offset = base + record.offsetDelta;
      if (offset < position) continue;
      if (offset >= until) break;
      records.push({
        offset,
        timestamp: Number(logAppendTime ? batch.maxTimestamp : batch.firstTimestamp + record.timestampDelta),
        key: record.key,
        value: record.value,
        headers: record.headers.map(([key, value]) => [key === null ? '' : key.toString('utf8'), value]),
      });
    }
  }
  return { records, nextOffset };
}

function readControlType(batch: FetchedBatch): number | undefined {
  const key = batch.records[0]?.key;
  return key !== null && key !== undefined && key.length >= 4 ? key.readInt16BE(2) : undefined;
}

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
